/* wire.h — protobuf wire-format walking: find and skip fields without touching their bytes. */
#ifndef DLB_WIRE_H
#define DLB_WIRE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* One field of a message as it sits in the buffer.  Used only to slice messages (skip weight
 * bytes, unpack parts separately); all decoding of content is done by protobuf-c. */
typedef struct dlb_wire_field {
    uint32_t number;
    int wire_type;
    const uint8_t *start;   /* first byte of the tag */
    const uint8_t *payload; /* length-delimited: first payload byte */
    size_t payload_len;     /* length-delimited: payload size */
    uint64_t varint;        /* varint fields: the value */
    const uint8_t *end;     /* one past the field */
} dlb_wire_field;

/* Iterate: *pos starts at buf; returns 1 with *f filled, 0 at the end, -1 on malformed input. */
int dlb__wire_next(const uint8_t **pos, const uint8_t *end, dlb_wire_field *f);

#endif
