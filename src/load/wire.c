/* wire.c — minimal protobuf wire-format iterator used to slice ONNX files before protobuf-c. */
#include "wire.h"

static int read_varint(const uint8_t **p, const uint8_t *end, uint64_t *v) {
    uint64_t r = 0;
    for (int shift = 0; shift < 64; shift += 7) {
        if (*p >= end) return -1;
        uint8_t b = *(*p)++;
        r |= (uint64_t)(b & 0x7f) << shift;
        if (!(b & 0x80)) {
            *v = r;
            return 0;
        }
    }
    return -1;
}

int dlb__wire_next(const uint8_t **pos, const uint8_t *end, dlb_wire_field *f) {
    const uint8_t *p = *pos;
    if (p >= end) return 0;
    f->start = p;
    uint64_t tag;
    if (read_varint(&p, end, &tag) != 0) return -1;
    f->number = (uint32_t)(tag >> 3);
    f->wire_type = (int)(tag & 7);
    f->payload = NULL;
    f->payload_len = 0;
    f->varint = 0;
    if (f->number == 0) return -1;
    switch (f->wire_type) {
    case 0:
        if (read_varint(&p, end, &f->varint) != 0) return -1;
        break;
    case 1:
        if ((size_t)(end - p) < 8) return -1;
        p += 8;
        break;
    case 2: {
        uint64_t len;
        if (read_varint(&p, end, &len) != 0) return -1;
        if (len > (uint64_t)(end - p)) return -1;
        f->payload = p;
        f->payload_len = (size_t)len;
        p += len;
        break;
    }
    case 5:
        if ((size_t)(end - p) < 4) return -1;
        p += 4;
        break;
    default: /* groups (3, 4) are not used by ONNX */
        return -1;
    }
    f->end = p;
    *pos = p;
    return 1;
}
