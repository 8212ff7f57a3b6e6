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

#endif
