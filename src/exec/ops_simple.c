/* ops_simple.c — pooling, eltwise, binary, normalisations, softmax, reduction, resampling. */
#include "net_internal.h"

dlb_status dlb__compile_simple(dlb_net *n, int op) {
    dlb_error(n->diag, n->desc->name, "op %d (%s) is not implemented in the executor yet", op,
              dlb_lop_name(n->desc->ops[op].op));
    return DLB_EUNSUPPORTED;
}
