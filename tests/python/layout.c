/* layout.c - prints sizeof and offsetof of every struct the Python binding
 * mirrors in ctypes (python/mha/_lib.py), one "struct field offset" line per
 * field and one "struct sizeof N" line per struct; test_layout.py compares
 * them with the ctypes layouts field by field, both ways. A field appended to
 * a header changes its struct's sizeof, which the test also compares, so the
 * binding cannot silently fall behind the headers. */
#include <stddef.h>
#include <stdio.h>

#include "mha/core.h"
#include "mha/mha.h"

#define S(type) printf(#type " sizeof %zu\n", sizeof(type))
#define F(type, field) printf(#type " " #field " %zu\n", offsetof(type, field))

int main(void)
{
    S(mha_extension);
    F(mha_extension, struct_size); F(mha_extension, type); F(mha_extension, next);

    S(mha_tensor);
    F(mha_tensor, data); F(mha_tensor, dtype); F(mha_tensor, rank); F(mha_tensor, shape);
    F(mha_tensor, memory); F(mha_tensor, offset);

    S(mha_view);
    F(mha_view, struct_size); F(mha_view, next); F(mha_view, data); F(mha_view, memory);
    F(mha_view, offset); F(mha_view, dtype); F(mha_view, rank); F(mha_view, shape);
    F(mha_view, strides);

    S(mha_plugin_info);
    F(mha_plugin_info, struct_size); F(mha_plugin_info, name); F(mha_plugin_info, version);
    F(mha_plugin_info, abi_major); F(mha_plugin_info, abi_minor); F(mha_plugin_info, path);
    F(mha_plugin_info, description);

    S(mha_device_info);
    F(mha_device_info, struct_size); F(mha_device_info, spec); F(mha_device_info, name);
    F(mha_device_info, vendor); F(mha_device_info, driver); F(mha_device_info, kind);
    F(mha_device_info, memory_bytes); F(mha_device_info, compute_units);

    S(mha_capabilities);
    F(mha_capabilities, struct_size); F(mha_capabilities, next); F(mha_capabilities, dtypes);
    F(mha_capabilities, memory_kinds); F(mha_capabilities, mask_kinds);
    F(mha_capabilities, dropout); F(mha_capabilities, need_weights);
    F(mha_capabilities, add_bias_kv); F(mha_capabilities, add_zero_attn);
    F(mha_capabilities, separate_kv_dims); F(mha_capabilities, max_embed_dim);
    F(mha_capabilities, max_sequence); F(mha_capabilities, extension_types);
    F(mha_capabilities, extension_type_count); F(mha_capabilities, core_features);
    F(mha_capabilities, core_dtypes);

    S(mha_config);
    F(mha_config, struct_size); F(mha_config, next); F(mha_config, embed_dim);
    F(mha_config, num_heads); F(mha_config, kdim); F(mha_config, vdim); F(mha_config, bias);
    F(mha_config, add_bias_kv); F(mha_config, add_zero_attn); F(mha_config, batch_first);
    F(mha_config, dropout);

    S(mha_weights);
    F(mha_weights, struct_size); F(mha_weights, next); F(mha_weights, in_proj_weight);
    F(mha_weights, q_proj_weight); F(mha_weights, k_proj_weight); F(mha_weights, v_proj_weight);
    F(mha_weights, in_proj_bias); F(mha_weights, out_proj_weight); F(mha_weights, out_proj_bias);
    F(mha_weights, bias_k); F(mha_weights, bias_v);

    S(mha_forward_args);
    F(mha_forward_args, struct_size); F(mha_forward_args, next); F(mha_forward_args, query);
    F(mha_forward_args, key); F(mha_forward_args, value); F(mha_forward_args, key_padding_mask);
    F(mha_forward_args, attn_mask); F(mha_forward_args, causal);
    F(mha_forward_args, need_weights); F(mha_forward_args, average_attn_weights);
    F(mha_forward_args, training); F(mha_forward_args, dropout_seed);
    F(mha_forward_args, attn_output); F(mha_forward_args, attn_weights);

    S(mha_core_args);
    F(mha_core_args, struct_size); F(mha_core_args, next); F(mha_core_args, q);
    F(mha_core_args, k); F(mha_core_args, v); F(mha_core_args, q_num_heads);
    F(mha_core_args, kv_num_heads); F(mha_core_args, attn_mask); F(mha_core_args, mask_polarity);
    F(mha_core_args, past_key); F(mha_core_args, past_value); F(mha_core_args, nonpad_kv_seqlen);
    F(mha_core_args, is_causal); F(mha_core_args, scale); F(mha_core_args, softcap);
    F(mha_core_args, left_window_size); F(mha_core_args, right_window_size);
    F(mha_core_args, qk_matmul_output_mode); F(mha_core_args, softmax_precision);
    F(mha_core_args, cache_key); F(mha_core_args, cache_value); F(mha_core_args, cache_length);
    F(mha_core_args, y); F(mha_core_args, present_key); F(mha_core_args, present_value);
    F(mha_core_args, qk_matmul_output);

    /* enums are passed as ctypes.c_int */
    printf("enum sizeof %zu\n", sizeof(mha_status));
    return 0;
}
