/* messages.h — conversions between the main job's results and their protobuf-c messages. */
#ifndef DLBRICKS_CLI_MESSAGES_H
#define DLBRICKS_CLI_MESSAGES_H

#include "cli.h"
#include "dlbricks.pb-c.h"

/** \brief Point \p m at the fields of \p r (no copies: \p r must outlive \p m). */
void dlb_msg_from_result(const dlb_cli_brick_result *r, uint64_t id, int rank, int threads,
                         Dlbricks__BrickResult *m);
/** \brief Copy a message into a result (samples malloc'd). */
void dlb_msg_to_result(const Dlbricks__BrickResult *m, dlb_cli_brick_result *r);

/** \brief Pack a rank's info into a malloc'd buffer of \p len bytes (RankInfo). */
dlb_status dlb_msg_pack_rank_info(const dlb_rank_info *ri, uint8_t **buf, size_t *len);
/** \brief A received RankInfo into \p ri; strings longer than its fields are cut to fit.
 *  DLB_EMSG: not a RankInfo message. */
dlb_status dlb_msg_unpack_rank_info(const uint8_t *buf, size_t len, dlb_rank_info *ri);
/** \brief Pack a rank's host probe into a malloc'd buffer of \p len bytes (HostProbe). */
dlb_status dlb_msg_pack_host_probe(const dlb_host_probe *p, uint8_t **buf, size_t *len);
/** \brief A received HostProbe into \p p (ok only with every figure present); DLB_EMSG: not a
 *  HostProbe message (\p p is then zero: not ok). */
dlb_status dlb_msg_unpack_host_probe(const uint8_t *buf, size_t len, dlb_host_probe *p);

#endif
