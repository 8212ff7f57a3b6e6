/* rank_messages.c — a rank's info and host probe as protobuf-c messages (proto/dlbricks.proto)
 * and back, so that ranks of different builds or platforms describe themselves portably. */
#include "messages.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Pack any message into a malloc'd buffer (at least one byte, so that an empty message is not a
 * NULL buffer). */
static dlb_status pack(const ProtobufCMessage *m, uint8_t **buf, size_t *len) {
    size_t n = protobuf_c_message_get_packed_size(m);
    uint8_t *b = malloc(n > 0 ? n : 1);
    if (!b) return DLB_ENOMEM;
    *len = protobuf_c_message_pack(m, b);
    *buf = b;
    return DLB_OK;
}

/* A received string into a fixed field, cut to fit (a peer's field may be longer than ours). */
static void copy_text(char *dst, size_t size, const char *src) {
    snprintf(dst, size, "%s", src ? src : "");
}

dlb_status dlb_msg_pack_rank_info(const dlb_rank_info *ri, uint8_t **buf, size_t *len) {
    Dlbricks__RankInfo m;
    dlbricks__rank_info__init(&m);
    m.system = (char *)ri->system; /* read only: packing copies */
    m.host = (char *)ri->host;
    m.binding = (char *)ri->binding;
    m.cpu_model = (char *)ri->cpu_model;
    m.isa = (char *)ri->isa;
    m.has_threads = m.has_oversubscribed = m.has_times_bricks = 1;
    m.threads = ri->threads;
    m.oversubscribed = ri->oversubscribed != 0;
    m.times_bricks = ri->times_bricks != 0;
    return pack(&m.base, buf, len);
}

dlb_status dlb_msg_unpack_rank_info(const uint8_t *buf, size_t len, dlb_rank_info *ri) {
    Dlbricks__RankInfo *m = dlbricks__rank_info__unpack(NULL, len, buf);
    if (!m) return DLB_EMSG;
    memset(ri, 0, sizeof *ri);
    copy_text(ri->system, sizeof ri->system, m->system);
    copy_text(ri->host, sizeof ri->host, m->host);
    copy_text(ri->binding, sizeof ri->binding, m->binding);
    copy_text(ri->cpu_model, sizeof ri->cpu_model, m->cpu_model);
    copy_text(ri->isa, sizeof ri->isa, m->isa);
    ri->threads = m->has_threads ? m->threads : 0;
    ri->oversubscribed = m->has_oversubscribed && m->oversubscribed;
    ri->times_bricks = m->has_times_bricks && m->times_bricks;
    dlbricks__rank_info__free_unpacked(m, NULL);
    return DLB_OK;
}

dlb_status dlb_msg_pack_host_probe(const dlb_host_probe *p, uint8_t **buf, size_t *len) {
    Dlbricks__HostProbe m;
    dlbricks__host_probe__init(&m);
    m.has_ok = 1;
    m.ok = p->ok != 0;
    if (p->ok) { /* a probe that did not run sends nothing else */
        m.has_gflops = m.has_stream_gbs = m.has_compute_ms = m.has_stream_ms = 1;
        m.has_stream_mib = 1;
        m.gflops = p->gflops;
        m.stream_gbs = p->stream_gbs;
        m.compute_ms = p->compute_ms;
        m.stream_ms = p->stream_ms;
        m.stream_mib = p->stream_mib;
    }
    return pack(&m.base, buf, len);
}

dlb_status dlb_msg_unpack_host_probe(const uint8_t *buf, size_t len, dlb_host_probe *p) {
    Dlbricks__HostProbe *m = dlbricks__host_probe__unpack(NULL, len, buf);
    memset(p, 0, sizeof *p);
    if (!m) return DLB_EMSG;
    /* ok only with every figure present: the report divides by none of them, but reads all */
    bool all = m->has_gflops && m->has_stream_gbs && m->has_compute_ms && m->has_stream_ms &&
               m->has_stream_mib;
    if (m->has_ok && m->ok && all) {
        p->ok = 1;
        p->gflops = m->gflops;
        p->stream_gbs = m->stream_gbs;
        p->compute_ms = m->compute_ms;
        p->stream_ms = m->stream_ms;
        p->stream_mib = m->stream_mib;
    }
    dlbricks__host_probe__free_unpacked(m, NULL);
    return DLB_OK;
}
