/* ops_data.c — data-movement ops: concat, transpose, pad, slice, split, gather, expand. */
#include "net_internal.h"

dlb_status dlb__compile_data(dlb_net *n, int op) {
    dlb_error(n->diag, n->desc->name, "op %d (%s) is not implemented in the executor yet", op,
              dlb_lop_name(n->desc->ops[op].op));
    return DLB_EUNSUPPORTED;
}
