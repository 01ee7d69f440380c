#!/usr/bin/env python3
"""Writes the seed corpora of tests/fuzz (Python 3 standard library only).

    python3 tests/fuzz/make_corpus.py        # rewrites tests/fuzz/corpus/{npy,api}

The files are committed; run this again only to change the seeds. Inputs that
the fuzzer found and that crashed are added to the corpus by hand (named
crash-*), never regenerated.
"""
import os
import struct
import sys

HERE = os.path.dirname(os.path.abspath(__file__))


def npy(header, data=b"", version=(1, 0), header_len=None, magic=b"\x93NUMPY", pad=True):
    """A .npy file; header is the dict text. header_len overrides the length field."""
    text = header.encode("latin-1")
    major = version[0]
    prefix = 10 if major == 1 else 12
    if pad:
        total = prefix + len(text) + 1
        text += b" " * ((64 - total % 64) % 64) + b"\n"
    length = len(text) if header_len is None else header_len
    if major == 1:
        field = struct.pack("<H", length & 0xFFFF)
    else:
        field = struct.pack("<I", length & 0xFFFFFFFF)
    return magic + bytes(version) + field + text + data


def f32(*values):
    return struct.pack("<%df" % len(values), *values)


def npy_seeds():
    d = "{'descr': '%s', 'fortran_order': %s, 'shape': %s, }"
    six = f32(1, 2, 3, 4, 5, 6)
    return {
        "valid_f4_2x3": npy(d % ("<f4", "False", "(2, 3)"), six),
        "valid_b1_4": npy(d % ("|b1", "False", "(4,)"), b"\x00\x01\x00\x02"),
        "valid_scalar": npy(d % ("<f4", "False", "()"), f32(7)),
        "valid_empty_0x5": npy(d % ("<f4", "False", "(0, 5)")),
        "valid_rank4": npy(d % ("<f4", "False", "(1, 2, 1, 3)"), six),
        "valid_double_quotes": npy('{"descr": "<f4", "shape": (2,), "fortran_order": False}',
                                   f32(1, 2)),
        "valid_long_suffix": npy(d % ("<f4", "False", "(2L, 3L)"), six),
        "version2_valid": npy(d % ("<f4", "False", "(2, 3)"), six, version=(2, 0)),
        "version3_valid": npy(d % ("|b1", "False", "(3,)"), b"\x01\x00\x01", version=(3, 0)),
        "version2_header_past_65535": npy(d % ("<f4", "False", "(2,)") + " " * 70000,
                                          f32(1, 2), version=(2, 0)),
        "version1_header_len_ffff": npy(d % ("<f4", "False", "(2,)"), f32(1, 2),
                                        header_len=0xFFFF),
        "version2_header_len_huge": npy(d % ("<f4", "False", "(2,)"), f32(1, 2), version=(2, 0),
                                        header_len=0xFFFFFFFF),
        "version2_header_len_70000_truncated": npy(d % ("<f4", "False", "(2,)"), f32(1, 2),
                                                   version=(2, 0), header_len=70000),
        "version4": npy(d % ("<f4", "False", "(2,)"), f32(1, 2), version=(4, 0)),
        "version1_minor1": npy(d % ("<f4", "False", "(2,)"), f32(1, 2), version=(1, 1)),
        "shape_product_overflow": npy(d % ("<f4", "False",
                                           "(4294967296, 4294967296, 4294967296)"), six),
        "shape_product_overflow_size_t": npy(d % ("<f4", "False", "(4611686018427387904, 2)")),
        "shape_dim_overflow_int64": npy(d % ("<f4", "False", "(99999999999999999999,)")),
        "shape_zero_times_huge": npy(d % ("<f4", "False", "(0, 99999999999999999)")),
        "shape_rank5": npy(d % ("<f4", "False", "(1, 1, 1, 1, 1)"), f32(1)),
        "shape_not_tuple": npy(d % ("<f4", "False", "(3)"), f32(1, 2, 3)),
        "shape_negative": npy(d % ("<f4", "False", "(-1,)"), f32(1)),
        "object_dtype": npy(d % ("|O", "False", "(2,)"), b"\x00" * 16),
        "float64_dtype": npy(d % ("<f8", "False", "(2,)"), b"\x00" * 16),
        "big_endian": npy(d % (">f4", "False", "(2,)"), f32(1, 2)),
        "structured_dtype": npy("{'descr': [('a', '<f4')], 'fortran_order': False, "
                                "'shape': (2,), }", f32(1, 2)),
        "fortran_order": npy(d % ("<f4", "True", "(2, 3)"), six),
        "truncated_data": npy(d % ("<f4", "False", "(10,)"), f32(1, 2, 3)),
        "shape_larger_than_file": npy(d % ("<f4", "False", "(1000000, 1000000)"), six),
        "extra_data": npy(d % ("<f4", "False", "(1,)"), f32(1, 2)),
        "bad_magic": npy(d % ("<f4", "False", "(2,)"), f32(1, 2), magic=b"\x93NUMPZ"),
        "only_magic": b"\x93NUMPY",
        "preamble_truncated": b"\x93NUMPY\x02\x00\x10",
        "empty": b"",
        "header_not_dict": npy("['descr', '<f4']", f32(1)),
        "header_duplicate_key": npy("{'descr': '<f4', 'descr': '<f4', 'fortran_order': False, "
                                    "'shape': (1,)}", f32(1)),
        "header_missing_shape": npy("{'descr': '<f4', 'fortran_order': False}", f32(1)),
        "header_unknown_key": npy("{'descr': '<f4', 'fortran_order': False, 'shape': (1,), "
                                  "'x': 1}", f32(1)),
        "header_trailing_garbage": npy("{'descr': '<f4', 'fortran_order': False, "
                                       "'shape': (1,)} x", f32(1)),
        "header_nul_byte": npy("{'descr': '<f4\x00', 'fortran_order': False, 'shape': (1,)}",
                               f32(1)),
        "header_non_ascii": npy("{'descr': '<f4', 'fortran_order': False, 'shape': (1,)}\xe9",
                                f32(1), version=(3, 0)),
        "header_unterminated_string": npy("{'descr': '<f4", f32(1)),
        "header_escape": npy("{'descr': '<f\\4', 'fortran_order': False, 'shape': (1,)}",
                             f32(1)),
        "header_fortran_word": npy("{'descr': '<f4', 'fortran_order': Falsey, 'shape': (1,)}",
                                   f32(1)),
    }


# ---- api: the 18-byte header of fuzz_api.c, then mutations --------------------
OPT_BIAS, OPT_BIAS_KV, OPT_ZERO_ATTN, OPT_BATCH_FIRST = 1, 2, 4, 8
OPT_UNBATCHED, OPT_NEED_WEIGHTS, OPT_PER_HEAD, OPT_TRAINING = 16, 32, 64, 128
M_KPM, M_KPM_FLOAT, M_MASK, M_MASK_3D, M_MASK_FLOAT, M_SELF = 1, 2, 4, 8, 16, 128
T_QUERY, T_KEY, T_VALUE, T_KPM, T_MASK, T_OUTPUT, T_WEIGHTS = range(7)


def causal(kind):
    return kind << 5


def call(H=2, D=4, L=3, N=2, S=5, kdim=0, vdim=0, options=OPT_BIAS, masks=0, dropout=0,
         seed=1234, mutations=b""):
    header = bytes([H - 1, D - 1, L - 1, N - 1, S - 1, kdim, vdim, options, masks, dropout])
    return header + struct.pack("<q", seed) + mutations


def dim(tensor, index, value):
    """Mutation 0: tensor.shape[index] = value (raw int64)."""
    return bytes([0, tensor, index, 5]) + struct.pack("<q", value)


def api_seeds():
    return {
        "valid_basic": call(),
        "valid_masks_need_weights": call(options=OPT_BIAS | OPT_NEED_WEIGHTS | OPT_PER_HEAD,
                                         masks=M_KPM | M_MASK | M_MASK_3D | M_MASK_FLOAT),
        "valid_float_kpm_causal_br": call(masks=M_KPM | M_KPM_FLOAT | causal(2)),
        "valid_causal_tl_bias_kv_zero_attn": call(
            options=OPT_BIAS | OPT_BIAS_KV | OPT_ZERO_ATTN | OPT_NEED_WEIGHTS,
            masks=M_MASK | causal(1)),
        "valid_unbatched_kdim_vdim": call(kdim=3, vdim=5, options=OPT_UNBATCHED | OPT_BIAS,
                                          masks=M_KPM),
        "valid_batch_first_self": call(options=OPT_BATCH_FIRST | OPT_NEED_WEIGHTS, masks=M_SELF),
        "valid_dropout_training": call(options=OPT_BIAS | OPT_TRAINING | OPT_NEED_WEIGHTS,
                                       dropout=64, seed=-7),
        "valid_s1": call(S=1, L=1, N=1, H=1, D=1),
        "invalid_dropout_nan": call(options=OPT_TRAINING, dropout=200),
        "invalid_dropout_one": call(options=OPT_TRAINING, dropout=201),
        "invalid_causal_3": call(masks=causal(3)),
        "overflow_query_dims": call(mutations=dim(T_QUERY, 0, 1 << 40) + dim(T_QUERY, 1, 1 << 40)),
        "overflow_scores": call(mutations=dim(T_QUERY, 0, 1 << 31) + dim(T_KEY, 0, 1 << 31)
                                + dim(T_VALUE, 0, 1 << 31) + dim(T_OUTPUT, 0, 1 << 31)),
        "overflow_embed_dim": call(mutations=bytes([6, 0, 0, 5]) + struct.pack("<q", 1 << 40)),
        "int64_max_rows": call(mutations=dim(T_KEY, 0, (1 << 63) - 1)),
        "negative_dim": call(mutations=dim(T_VALUE, 2, -3)),
        "zero_dim": call(mutations=dim(T_QUERY, 1, 0)),
        "mask_shape_mismatch": call(masks=M_MASK, mutations=dim(T_MASK, 1, 4)),
        "kpm_f16": call(masks=M_KPM, mutations=bytes([2, T_KPM, 3])),
        "rank_7": call(mutations=bytes([1, T_KEY, 7])),
        "extension_cycle": call(mutations=bytes([10, 0, 3, 9, 9])),
        "args_struct_size_small": call(mutations=bytes([8, 0, 1, 16])),
        "weights_missing_out_proj": call(mutations=bytes([7, 0, 5])),
        "output_null": call(mutations=bytes([5, T_OUTPUT])),
        "device_memory_offset": call(mutations=bytes([3, T_QUERY, 1, 4, T_KEY, 8])),
    }


def write(folder, seeds):
    path = os.path.join(HERE, "corpus", folder)
    os.makedirs(path, exist_ok=True)
    for name in os.listdir(path):
        if not name.startswith("crash-"):
            os.remove(os.path.join(path, name))
    for name, data in sorted(seeds.items()):
        with open(os.path.join(path, name), "wb") as out:
            out.write(data)
    return len(seeds)


def main():
    print("npy: %d seeds, api: %d seeds" % (write("npy", npy_seeds()), write("api", api_seeds())))
    return 0


if __name__ == "__main__":
    sys.exit(main())
