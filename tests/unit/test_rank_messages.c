/* test_rank_messages.c — a rank's info and host probe through their protobuf-c messages: round
 * trips, a peer's longer strings cut to fit, missing figures, and bytes that are no message. */
#include "cli/messages.h"

#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "test_util.h"

static dlb_rank_info sample_info(void) {
    dlb_rank_info ri;
    memset(&ri, 0x5a, sizeof ri); /* padding and tails of the fields: not sent */
    snprintf(ri.system, sizeof ri.system, "%s", "amd-epyc-f25-m1.avx2.t8");
    snprintf(ri.host, sizeof ri.host, "%s", "node017");
    snprintf(ri.binding, sizeof ri.binding, "%s", "0-7,64-71");
    snprintf(ri.cpu_model, sizeof ri.cpu_model, "%s", "AMD EPYC 7763 64-Core Processor");
    snprintf(ri.isa, sizeof ri.isa, "%s", "avx2");
    ri.threads = 8;
    ri.oversubscribed = 1;
    ri.times_bricks = 0;
    return ri;
}

static void test_rank_info_round_trip(void) {
    dlb_rank_info in = sample_info(), out;
    uint8_t *buf = NULL;
    size_t len = 0;
    ASSERT_EQ_INT(dlb_msg_pack_rank_info(&in, &buf, &len), DLB_OK);
    ASSERT(len > 0 && len < sizeof in); /* the strings as long as they are, not their fields */
    ASSERT_EQ_INT(dlb_msg_unpack_rank_info(buf, len, &out), DLB_OK);
    ASSERT_STREQ(out.system, in.system);
    ASSERT_STREQ(out.host, in.host);
    ASSERT_STREQ(out.binding, in.binding);
    ASSERT_STREQ(out.cpu_model, in.cpu_model);
    ASSERT_STREQ(out.isa, in.isa);
    ASSERT_EQ_INT(out.threads, 8);
    ASSERT_EQ_INT(out.oversubscribed, 1);
    ASSERT_EQ_INT(out.times_bricks, 0);
    free(buf);
    /* the other flags' values, and empty strings */
    in.oversubscribed = 0;
    in.times_bricks = 1;
    in.binding[0] = in.isa[0] = 0;
    ASSERT_EQ_INT(dlb_msg_pack_rank_info(&in, &buf, &len), DLB_OK);
    ASSERT_EQ_INT(dlb_msg_unpack_rank_info(buf, len, &out), DLB_OK);
    ASSERT_EQ_INT(out.oversubscribed, 0);
    ASSERT_EQ_INT(out.times_bricks, 1);
    ASSERT_STREQ(out.binding, "");
    ASSERT_STREQ(out.isa, "");
    ASSERT_STREQ(out.host, "node017");
    free(buf);
}

/* A peer built with longer fields (or another platform's names): cut to fit, terminated. */
static void test_rank_info_long_strings(void) {
    char host[600], binding[700];
    memset(host, 'h', sizeof host - 1);
    host[sizeof host - 1] = 0;
    memset(binding, '7', sizeof binding - 1);
    binding[sizeof binding - 1] = 0;
    Dlbricks__RankInfo m;
    dlbricks__rank_info__init(&m);
    m.system = "sys";
    m.host = host;
    m.binding = binding;
    size_t len = dlbricks__rank_info__get_packed_size(&m);
    uint8_t *buf = malloc(len);
    ASSERT(buf != NULL);
    if (!buf) return;
    dlbricks__rank_info__pack(&m, buf);
    dlb_rank_info out;
    ASSERT_EQ_INT(dlb_msg_unpack_rank_info(buf, len, &out), DLB_OK);
    ASSERT_EQ_INT(strlen(out.host), sizeof out.host - 1);
    ASSERT_EQ_INT(strlen(out.binding), sizeof out.binding - 1);
    ASSERT(strspn(out.host, "h") == sizeof out.host - 1);
    ASSERT_STREQ(out.system, "sys");
    ASSERT_STREQ(out.cpu_model, ""); /* absent */
    ASSERT_EQ_INT(out.threads, 0);
    ASSERT_EQ_INT(out.times_bricks, 0);
    free(buf);
}

/* Bytes that are no RankInfo: nothing (a rank that could not pack), a message without its
 * required host, and noise. */
static void test_rank_info_malformed(void) {
    dlb_rank_info out;
    uint8_t none = 0;
    ASSERT_EQ_INT(dlb_msg_unpack_rank_info(&none, 0, &out), DLB_EMSG);
    const uint8_t no_host[] = {0x0a, 0x03, 's', 'y', 's'}; /* field 1 "sys", field 2 missing */
    ASSERT_EQ_INT(dlb_msg_unpack_rank_info(no_host, sizeof no_host, &out), DLB_EMSG);
    const uint8_t both[] = {0x0a, 0x03, 's', 'y', 's', 0x12, 0x01, 'n'}; /* and with it: valid */
    ASSERT_EQ_INT(dlb_msg_unpack_rank_info(both, sizeof both, &out), DLB_OK);
    ASSERT_STREQ(out.host, "n");
    const uint8_t noise[] = {0xff, 0xff, 0xff, 0xff, 0x0f, 0x12, 0x99};
    ASSERT_EQ_INT(dlb_msg_unpack_rank_info(noise, sizeof noise, &out), DLB_EMSG);
    ASSERT_STREQ(dlb_strerror(DLB_EMSG), "malformed message from another rank");
    ASSERT_STREQ(dlb_errname(DLB_EMSG), "DLB_EMSG");
}

static void test_host_probe(void) {
    dlb_host_probe in = {.gflops = 55.1875,
                         .stream_gbs = 21.15,
                         .compute_ms = 38.9111,
                         .stream_ms = 4.76,
                         .stream_mib = 96,
                         .ok = 1},
                   out;
    uint8_t *buf = NULL;
    size_t len = 0;
    ASSERT_EQ_INT(dlb_msg_pack_host_probe(&in, &buf, &len), DLB_OK);
    ASSERT_EQ_INT(dlb_msg_unpack_host_probe(buf, len, &out), DLB_OK);
    ASSERT(out.ok == 1 && out.gflops == in.gflops && out.stream_gbs == in.stream_gbs);
    ASSERT(out.compute_ms == in.compute_ms && out.stream_ms == in.stream_ms);
    ASSERT_EQ_INT(out.stream_mib, 96);
    free(buf);
    /* a probe that did not run: not ok, and no stale figures */
    in.ok = 0;
    ASSERT_EQ_INT(dlb_msg_pack_host_probe(&in, &buf, &len), DLB_OK);
    memset(&out, 0x5a, sizeof out);
    ASSERT_EQ_INT(dlb_msg_unpack_host_probe(buf, len, &out), DLB_OK);
    ASSERT(out.ok == 0 && out.gflops == 0 && out.stream_mib == 0);
    free(buf);
    /* ok, but a figure missing: not ok */
    Dlbricks__HostProbe m;
    dlbricks__host_probe__init(&m);
    m.has_ok = m.ok = 1;
    m.has_gflops = 1;
    m.gflops = 50;
    uint8_t b[64];
    len = dlbricks__host_probe__pack(&m, b);
    ASSERT_EQ_INT(dlb_msg_unpack_host_probe(b, len, &out), DLB_OK);
    ASSERT_EQ_INT(out.ok, 0);
    /* nothing sent: an empty message, not ok; noise: DLB_EMSG and not ok */
    ASSERT_EQ_INT(dlb_msg_unpack_host_probe(b, 0, &out), DLB_OK);
    ASSERT_EQ_INT(out.ok, 0);
    const uint8_t noise[] = {0x11, 0x01, 0x02};
    memset(&out, 0x5a, sizeof out);
    ASSERT_EQ_INT(dlb_msg_unpack_host_probe(noise, sizeof noise, &out), DLB_EMSG);
    ASSERT_EQ_INT(out.ok, 0);
}

int main(void) {
    test_rank_info_round_trip();
    test_rank_info_long_strings();
    test_rank_info_malformed();
    test_host_probe();
    return test_summary("test_rank_messages");
}
