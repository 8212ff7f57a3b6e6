/* isa.c — what this CPU lets oneDNN run (dispatched ISA, data types) and process-wide settings. */
#include <oneapi/dnnl/dnnl.h>

#include <stdlib.h>

#include "dlbricks/exec.h"
#include "util/check.h"

dlb_status dlb_exec_setup_process(dlb_diag *diag) {
    dlb_status st = DLB_OK;
    const char *where = NULL;
    if (!getenv("ONEDNN_PRIMITIVE_CACHE_CAPACITY") && !getenv("DNNL_PRIMITIVE_CACHE_CAPACITY"))
        DLB_DNNL_CHECK(dnnl_set_primitive_cache_capacity(0));
cleanup:
    return st;
}

const char *dlb_exec_isa(void) {
    switch (dnnl_get_effective_cpu_isa()) {
    case dnnl_cpu_isa_sse41:
        return "sse41";
    case dnnl_cpu_isa_avx:
        return "avx";
    case dnnl_cpu_isa_avx2:
        return "avx2";
    case dnnl_cpu_isa_avx2_vnni:
        return "avx2_vnni";
    case dnnl_cpu_isa_avx512_mic:
        return "avx512_mic";
    case dnnl_cpu_isa_avx512_mic_4ops:
        return "avx512_mic_4ops";
    case dnnl_cpu_isa_avx512_core:
        return "avx512_core";
    case dnnl_cpu_isa_avx512_core_vnni:
        return "avx512_core_vnni";
    case dnnl_cpu_isa_avx512_core_bf16:
        return "avx512_core_bf16";
    case dnnl_cpu_isa_avx512_core_amx:
        return "avx512_core_amx";
    default:
        return "unknown";
    }
}

bool dlb_exec_dtype_supported(dlb_dtype dt, const char **why) {
    *why = NULL;
    if (dt == DLB_DT_F32) return true;
    if (dt == DLB_DT_BF16) {
        dnnl_cpu_isa_t isa = dnnl_get_effective_cpu_isa();
        if (isa == dnnl_cpu_isa_avx512_core_bf16 || isa == dnnl_cpu_isa_avx512_core_amx)
            return true;
        *why = "bf16 needs bf16 instructions (avx512_core_bf16 or amx); oneDNN dispatches to "
               "a CPU without them here";
        return false;
    }
    if (dt == DLB_DT_S8) return true; /* oneDNN runs int8 on every x86 ISA (fast with VNNI) */
    *why = "only f32 and bf16 are supported";
    return false;
}

static void retype(dlb_operand *o, int n, dlb_dtype dt) {
    for (int i = 0; i < n; i++)
        if (dlb_dtype_is_float(o[i].dtype)) o[i].dtype = dt;
}

void dlb_lowered_set_dtype(dlb_lowered *l, dlb_dtype dt) {
    for (int j = 0; j < l->n_layers; j++) {
        dlb_op_spec *s = &l->layers[j].spec;
        retype(s->src, s->n_src, dt);
        bool heavy = s->op == DLB_LOP_CONV || s->op == DLB_LOP_DECONV || s->op == DLB_LOP_MATMUL ||
                     s->op == DLB_LOP_INNER_PRODUCT;
        /* Normalisation statistics, scales and shifts stay f32 (oneDNN's rule); int8 convolutions
         * and matmuls keep an f32 bias. */
        if (heavy && dt == DLB_DT_S8)
            retype(s->wei, s->n_wei < 1 ? 0 : 1, dt);
        else if (s->op != DLB_LOP_BNORM && s->op != DLB_LOP_LNORM && s->op != DLB_LOP_INORM)
            retype(s->wei, s->n_wei, dt);
        retype(s->dst, s->n_dst, dt);
        for (int k = 0; k < s->n_post; k++) retype(&s->post[k].operand, 1, dt);
    }
}
