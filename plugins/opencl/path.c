/* path.c - the path rules (path.h): which kernels compute one call's
 * attention products. No OpenCL calls; tests/opencl/test_path_rules.c links
 * this file alone. */
#include <string.h>

#include "path.h"

/* Whether the attention products run in a fused kernel (see ocl_path).
 * GEMM-only timing has no fused kernel to leave out. */
static bool use_fused(const ocl_path_rules *r, const mha_problem *pr)
{
    if (r->gemm_only || pr->head_dim > OCL_FUSED_HEAD_DIM_MAX)
        return false;
    if (r->loop_cap && ocl_loops_fused(pr, r->weights) > r->loop_cap)
        return false;
    if (r->path != OCL_PATH_AUTO)
        return r->path == OCL_PATH_FUSED;
    return r->cpu;
}

/* Whether the call takes the absorbed path (see ocl_path): by the flops of
 * one batch entry, projecting K and V and their two products against the
 * absorbed products (cl/absorbed.cl). */
static bool use_absorbed(const ocl_path_rules *r, const mha_problem *pr)
{
    if (r->gemm_only || pr->src_len_total != pr->src_len)
        return false;
    if (r->loop_cap && ocl_loops_absorbed(pr) > r->loop_cap)
        return false;
    if (r->path != OCL_PATH_AUTO)
        return r->path == OCL_PATH_ABSORBED;
    if (!r->cpu)
        return false; /* unmeasured on other devices */
    const double L = (double)pr->tgt_len, S = (double)pr->src_len;
    const double E = (double)pr->embed_dim, H = (double)pr->num_heads;
    const double kv = (double)pr->kdim + (double)pr->vdim;
    const double projected = S * E * kv + 2.0 * L * S * E;
    const double absorbed = H * L * S * kv + L * E * kv;
    return absorbed * OCL_ABSORBED_MIN_GAIN <= projected;
}

/* Whether the attention products run in the flash kernels (see ocl_path):
 * with weights, AUTO keeps the GEMM path while its score matrix fits. */
static bool use_flash(const ocl_path_rules *r, const mha_problem *pr)
{
    if (r->gemm_only || pr->head_dim > OCL_FLASH_HEAD_DIM_MAX)
        return false;
    if (r->loop_cap && ocl_loops_flash(pr, r->weights) > r->loop_cap)
        return false;
    if (r->path != OCL_PATH_AUTO)
        return r->path == OCL_PATH_FLASH;
    if (r->cpu)
        return false;
    if (!r->weights)
        return true;
    const double scores = (double)pr->batch * (double)pr->num_heads * (double)pr->tgt_len *
                          (double)pr->src_len_total * sizeof(float);
    return r->max_alloc > 0 && scores > (double)r->max_alloc;
}

ocl_path ocl_path_choose(const ocl_path_rules *r, const mha_problem *pr)
{
    if (use_absorbed(r, pr))
        return OCL_PATH_ABSORBED;
    if (use_flash(r, pr))
        return OCL_PATH_FLASH;
    return use_fused(r, pr) ? OCL_PATH_FUSED : OCL_PATH_GEMM;
}

/* When one work-item takes all the queries of a head (decoding), the fused
 * kernel reads each key once: it then reads K and V from the projections in
 * place, adding their bias, unless bias_kv or zero_attn rows come after the
 * keys. With more queries per head the per-head copies pay off: the kernel
 * re-reads every key per block of queries, and rows of the projections lie
 * N*E floats apart (N=4 L=512: attention 25-27 ms from the copies, 32-34 in
 * place). */
bool ocl_path_kv_in_place(const mha_problem *pr)
{
    return pr->src_len_total == pr->src_len && pr->tgt_len <= OCL_FUSED_ROWS;
}

/* Per step of 4 keys (FK, cl/fused.cl) 48 D + 96, and 512 D to load Q and
 * store the output: above what llvmpipe counts (its limit was reached, with
 * H = 2 and L = 24, at S' = 588, 304, 140 and 64 for D = 8, 16, 32 and 64:
 * 43.3 D + 75 per step and 496 D besides, fitted; no loop of the kernel is
 * unrolled there, #pragma unroll or not). With weights, a pass over the keys
 * per head and two per pass (max and sum, then weights and P.V), every head
 * of the batch entry when averaging, and 128 more per step for the weights
 * written (S' = 184 was past the limit with D = 8, H = 2). A bound, not a
 * count: D = 128 never fits. */
uint64_t ocl_loops_fused(const mha_problem *pr, bool weights)
{
    const uint64_t D = (uint64_t)pr->head_dim, Sp = (uint64_t)pr->src_len_total;
    const uint64_t steps = (Sp + 3) / 4; /* FK = 4 keys per step */
    if (!weights)
        return steps * (48 * D + 96) + 512 * D;
    return 2 * (uint64_t)pr->num_heads * (steps * (48 * D + 96 + 128) + 512 * D);
}

/* Three passes over the S' columns of up to OCL_SOFTMAX_ITEM_VECTORS float8
 * vectors of rows, each with a loop over the 8 lanes (masks, dropout), and
 * the rows past the last whole vector (at most 7) one at a time, four passes
 * each. */
uint64_t ocl_loops_items(const mha_problem *pr)
{
    const uint64_t Sp = (uint64_t)pr->src_len_total, L = (uint64_t)pr->tgt_len;
    uint64_t vectors = L / 8 + 1;
    if (vectors > OCL_SOFTMAX_ITEM_VECTORS)
        vectors = OCL_SOFTMAX_ITEM_VECTORS;
    return 3 * Sp * vectors * (1 + 8) + 7 * 4 * Sp + 2 * vectors;
}

/* The largest of the absorbed kernels' (cl/absorbed.cl): mha_absorbed_values
 * walks every key for each block of 8 of the H*L query rows of its batch
 * entry (8 rows per key, 8 x 16 to store), mha_absorbed_scores every block
 * of 4 rows for each of its 4 pairs of keys (kdim in float8s, 4 rows each),
 * mha_absorb_queries and mha_absorbed_output one D- or vdim-long dot. */
uint64_t ocl_loops_absorbed(const mha_problem *pr)
{
    const uint64_t HL = (uint64_t)pr->num_heads * (uint64_t)pr->tgt_len;
    const uint64_t S = (uint64_t)pr->src_len, kdim = (uint64_t)pr->kdim;
    const uint64_t values = (HL + 7) / 8 * (S * (1 + 8) + 8 + 8 * 17);
    const uint64_t scores = 4 * ((HL + 3) / 4) * (4 + (kdim / 8 + 8) * 5 + 4);
    const uint64_t dots = (uint64_t)pr->head_dim + (uint64_t)pr->vdim;
    return values > scores ? (values > dots ? values : dots) : (scores > dots ? scores : dots);
}

/* Four passes over the row's S' columns. */
uint64_t ocl_loops_columns(const mha_problem *pr)
{
    return 4 * (uint64_t)pr->src_len_total + 16;
}

/* A work-item of mha_flash_DM per tile of OCL_FLASH_BLOCK_K keys (the
 * default; a forced larger block_q only lowers it): its share of the tile's
 * loads (block_k * DM / 16 at the smallest default block_q) and, per step of
 * OCL_FLASH_KEY_STEP keys, the DM-long score and P.V loops of each key and
 * the rescale, all counted; with weights, mha_flash_weights' H D-long dot
 * products when that is more. Generous: a bound, not a count (no split-K:
 * the rules do not know the device's compute units). */
uint64_t ocl_loops_flash(const mha_problem *pr, bool weights)
{
    const uint64_t dm = ocl_flash_head_tier(pr->head_dim), Sp = (uint64_t)pr->src_len_total;
    const uint64_t tiles = (Sp + OCL_FLASH_BLOCK_K - 1) / OCL_FLASH_BLOCK_K;
    const uint64_t steps = OCL_FLASH_BLOCK_K / OCL_FLASH_KEY_STEP;
    const uint64_t per_tile = OCL_FLASH_BLOCK_K * dm / OCL_FLASH_BLOCK_Q_MIN + steps +
                              steps * (OCL_FLASH_KEY_STEP * 2 * dm + dm);
    const uint64_t main = tiles * per_tile + 3 * dm;
    const uint64_t pass = (uint64_t)pr->num_heads * ((uint64_t)pr->head_dim + 1);
    return weights && pass > main ? pass : main;
}

/* As for the fused path: with one block of queries per head each key is
 * read once, so copying K and V into per-head blocks first (a read and a
 * write of each) would triple the traffic of decoding's main cost. */
bool ocl_flash_kv_in_place(const mha_problem *pr)
{
    return pr->src_len_total == pr->src_len && pr->tgt_len <= OCL_FLASH_BLOCK_Q;
}

/* The forced or automatic choice, moved on while it would run past the loop
 * cap: items, then columns, then group (a work-group shares each row; the
 * kernel for which nothing smaller is left). */
ocl_softmax ocl_softmax_choose(const ocl_path_rules *r, const mha_problem *pr)
{
    ocl_softmax choice = r->softmax;
    if (choice == OCL_SOFTMAX_AUTO) {
        const int64_t rows = pr->batch * pr->num_heads * pr->tgt_len;
        choice = r->cpu                              ? OCL_SOFTMAX_ITEMS
                 : rows >= OCL_SOFTMAX_COLUMNS_MIN ? OCL_SOFTMAX_COLUMNS
                                                   : OCL_SOFTMAX_GROUP;
    }
    if (r->loop_cap && choice == OCL_SOFTMAX_ITEMS && ocl_loops_items(pr) > r->loop_cap)
        choice = OCL_SOFTMAX_COLUMNS;
    if (r->loop_cap && choice == OCL_SOFTMAX_COLUMNS && ocl_loops_columns(pr) > r->loop_cap)
        choice = OCL_SOFTMAX_GROUP;
    return choice;
}

ocl_path ocl_path_parse(const char *value)
{
    if (value && strcmp(value, "gemm") == 0)
        return OCL_PATH_GEMM;
    if (value && strcmp(value, "fused") == 0)
        return OCL_PATH_FUSED;
    if (value && strcmp(value, "absorbed") == 0)
        return OCL_PATH_ABSORBED;
    if (value && strcmp(value, "flash") == 0)
        return OCL_PATH_FLASH;
    return OCL_PATH_AUTO;
}

ocl_softmax ocl_softmax_parse(const char *value)
{
    if (value && strcmp(value, "items") == 0)
        return OCL_SOFTMAX_ITEMS;
    if (value && strcmp(value, "columns") == 0)
        return OCL_SOFTMAX_COLUMNS;
    if (value && strcmp(value, "group") == 0)
        return OCL_SOFTMAX_GROUP;
    return OCL_SOFTMAX_AUTO;
}

/* One item "key=N" of MHA_OPENCL_FLASH, len characters, into *tiles. */
static bool flash_item(const char *item, size_t len, ocl_flash_tiles *tiles)
{
    static const char *const keys[] = {"block_q", "block_k", "splits"};
    const char *eq = memchr(item, '=', len);
    if (!eq || eq + 1 == item + len)
        return false;
    const size_t key_len = (size_t)(eq - item);
    int key = -1;
    for (int k = 0; k < 3; ++k)
        if (strlen(keys[k]) == key_len && memcmp(item, keys[k], key_len) == 0)
            key = k;
    unsigned value = 0;
    for (const char *p = eq + 1; p < item + len; ++p) {
        if (*p < '0' || *p > '9' || value > 100000u)
            return false;
        value = value * 10u + (unsigned)(*p - '0');
    }
    switch (key) {
    case 0:
        if (value < 1 || value > OCL_FLASH_BLOCK_MAX || (value & (value - 1)) != 0)
            return false;
        tiles->block_q = value;
        return true;
    case 1:
        if (value < OCL_FLASH_KEY_STEP || value > OCL_FLASH_BLOCK_MAX ||
            value % OCL_FLASH_KEY_STEP != 0)
            return false;
        tiles->block_k = value;
        return true;
    case 2:
        if (value < 1 || value > OCL_FLASH_SPLITS_MAX)
            return false;
        tiles->splits = value;
        return true;
    default:
        return false;
    }
}

bool ocl_flash_tiles_parse(const char *value, ocl_flash_tiles *tiles, const char **bad)
{
    memset(tiles, 0, sizeof *tiles);
    *bad = NULL;
    for (const char *p = value; p && *p;) {
        const char *end = strchr(p, ',');
        const size_t len = end ? (size_t)(end - p) : strlen(p);
        if (!flash_item(p, len, tiles)) {
            *bad = p;
            memset(tiles, 0, sizeof *tiles);
            return false;
        }
        p = end ? end + 1 : p + len;
    }
    return true;
}

unsigned ocl_flash_head_tier(int64_t D)
{
    for (unsigned dm = 16; dm <= OCL_FLASH_HEAD_DIM_MAX; dm *= 2)
        if (D <= (int64_t)dm)
            return dm;
    return 0;
}

static unsigned pow2_floor(size_t n)
{
    unsigned p = 1;
    while ((size_t)p * 2 <= n && p < (1u << 30))
        p *= 2;
    return p;
}

/* A work-group per block of queries: block_q work-items, a power of two
 * between OCL_FLASH_BLOCK_Q_MIN (work-items to share the tile loads) and
 * OCL_FLASH_BLOCK_Q, no larger than L needs; keys per tile: the two tiles
 * (keys and values, block_k x dm floats each) in the local memory left.
 * Split-K when the blocks of all heads give fewer work-groups than
 * OCL_FLASH_GROUPS_PER_UNIT per compute unit (decoding): pieces of whole
 * tiles, none empty. */
bool ocl_flash_plan_choose(const ocl_flash_device *dev, const ocl_flash_tiles *forced,
                           int64_t heads, int64_t L, int64_t Sp, int64_t D,
                           ocl_flash_plan *plan)
{
    memset(plan, 0, sizeof *plan);
    const unsigned dm = ocl_flash_head_tier(D);
    if (dm == 0 || L < 1 || Sp < 1 || heads < 1)
        return false;
    unsigned bq = forced->block_q;
    if (bq == 0) {
        bq = OCL_FLASH_BLOCK_Q_MIN;
        while (bq < OCL_FLASH_BLOCK_Q && (int64_t)bq < L)
            bq *= 2;
    }
    const unsigned wg = pow2_floor(dev->work_group ? dev->work_group : 1);
    if (bq > wg)
        bq = wg;
    unsigned bk = forced->block_k ? forced->block_k : OCL_FLASH_BLOCK_K;
    const uint64_t tile_bytes = 2u * (uint64_t)dm * sizeof(float); /* per key */
    while (bk > OCL_FLASH_KEY_STEP && (uint64_t)bk * tile_bytes > dev->local_mem)
        bk -= OCL_FLASH_KEY_STEP;
    if ((uint64_t)bk * tile_bytes > dev->local_mem)
        return false;

    const int64_t tiles = (Sp + bk - 1) / bk;
    const int64_t groups = heads * ((L + bq - 1) / bq);
    int64_t splits = forced->splits;
    if (splits == 0) {
        const int64_t want = (int64_t)(dev->compute_units ? dev->compute_units : 1) *
                             OCL_FLASH_GROUPS_PER_UNIT;
        splits = groups >= want ? 1 : (want + groups - 1) / groups;
    }
    if (splits > tiles)
        splits = tiles;
    if (splits > OCL_FLASH_SPLITS_MAX)
        splits = OCL_FLASH_SPLITS_MAX;
    const int64_t piece_tiles = (tiles + splits - 1) / splits;
    splits = (tiles + piece_tiles - 1) / piece_tiles; /* none empty */
    *plan = (ocl_flash_plan){dm, bq, bk, (unsigned)splits, (unsigned)(piece_tiles * bk)};
    return true;
}

bool ocl_core_use_tiled(ocl_core_kernel setting, bool cpu, bool qk, int64_t packed_rows,
                        bool rows_past_cap)
{
    if (qk)
        return false;
    if (rows_past_cap)
        return true;
    if (setting != OCL_CORE_AUTO)
        return setting == OCL_CORE_TILED;
    return !cpu || packed_rows >= OCL_CORE_TILED_MIN_ROWS_CPU;
}

int ocl_core_tile_width(int64_t D, int64_t Dv)
{
    const int64_t need = D > Dv ? D : Dv;
    for (int dm = 16; dm <= 256; dm *= 2)
        if (need <= dm)
            return dm;
    return 0;
}

uint64_t ocl_core_tile_keys(uint64_t local_mem, int dm)
{
    const uint64_t per_key = 2u * (uint64_t)dm * sizeof(float);
    const uint64_t keys = local_mem > 0 ? local_mem / per_key : OCL_CORE_TILE_KEYS;
    return keys < OCL_CORE_TILE_KEYS ? keys : OCL_CORE_TILE_KEYS;
}

/* Per tile: the work-item's share of the tile's loads, then per key the
 * key loop, the DM-long dot, rescale and P.V loops (the rescale counted for
 * every key); besides, q, o and the output or partial record. */
uint64_t ocl_loops_core_tiled(const ocl_core_plan *plan, int64_t tiles)
{
    const uint64_t dm = (uint64_t)plan->dm, bk = plan->block_k;
    const uint64_t rows = plan->rows ? plan->rows : 1;
    const uint64_t per_tile = (bk * dm + rows - 1) / rows + bk * (1 + 3 * dm) + 1;
    return (uint64_t)(tiles > 0 ? tiles : 0) * per_tile + 4 * dm + 16;
}

/* q and o, then per key the key loop, the D-long dot and the Dv-long
 * rescale and P.V loops; the probabilities' second pass a dot per key. */
uint64_t ocl_loops_core_rows(int64_t T, int64_t D, int64_t Dv, bool probabilities)
{
    const uint64_t t = (uint64_t)T, d = (uint64_t)D, dv = (uint64_t)Dv;
    return d + 3 * dv + t * (1 + d + 2 * dv) + (probabilities ? t * (1 + d) : 0) + 16;
}

ocl_core_plan_result ocl_core_plan_choose(const ocl_core_device *dev, unsigned forced,
                                          int64_t kv_groups, int64_t packed, int64_t T,
                                          int64_t D, int64_t Dv, ocl_core_plan *plan)
{
    memset(plan, 0, sizeof *plan);
    plan->dm = ocl_core_tile_width(D, Dv);
    const uint64_t keys = plan->dm ? ocl_core_tile_keys(dev->local_mem, plan->dm) : 0;
    if (keys == 0)
        return OCL_CORE_PLAN_NO_TILE;
    plan->block_k = (unsigned)keys;
    const unsigned most = pow2_floor(dev->work_group ? dev->work_group : 1);
    plan->rows = 1;
    while (plan->rows * 2 <= most && plan->rows * 2 <= OCL_CORE_GROUP_ROWS &&
           (int64_t)plan->rows < packed)
        plan->rows *= 2;

    const int64_t tiles = (T + plan->block_k - 1) / plan->block_k;
    int64_t splits = forced;
    if (splits == 0) {
        const int64_t groups = kv_groups * ((packed + plan->rows - 1) / plan->rows);
        const int64_t want = (int64_t)(dev->compute_units ? dev->compute_units : 1) *
                             OCL_CORE_GROUPS_PER_UNIT;
        splits = groups >= want ? 1 : (want + groups - 1) / groups;
    }
    if (splits > OCL_CORE_SPLITS_MAX)
        splits = OCL_CORE_SPLITS_MAX;
    if (dev->loop_cap) { /* enough pieces that each stays within the cap */
        const uint64_t one = ocl_loops_core_tiled(plan, 1), none = ocl_loops_core_tiled(plan, 0);
        const int64_t per_piece = dev->loop_cap > none ? (int64_t)((dev->loop_cap - none) / (one - none)) : 0;
        if (per_piece == 0 && tiles > 0)
            return OCL_CORE_PLAN_LOOP_CAP;
        const int64_t need = per_piece > 0 ? (tiles + per_piece - 1) / per_piece : 1;
        if (need > OCL_CORE_SPLITS_MAX)
            return OCL_CORE_PLAN_LOOP_CAP;
        if (splits < need)
            splits = need;
    }
    if (splits > tiles)
        splits = tiles;
    if (splits < 1)
        splits = 1;
    const int64_t piece_tiles = tiles > 0 ? (tiles + splits - 1) / splits : 1;
    plan->splits = (unsigned)(tiles > 0 ? (tiles + piece_tiles - 1) / piece_tiles : 1);
    plan->split_keys = piece_tiles * plan->block_k;
    return OCL_CORE_PLAN_OK;
}
