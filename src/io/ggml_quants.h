// llama.cpp's block formats (ggml-common.h): rows are cut into blocks of 32 or 256 values, each block
// stores its own f16 scale(s) and the codes. Q8_0 and Q4_0 are exactly our int8 / int4 codes with one scale
// per 32 columns, so they are split into codes and scales without loss; every other type is dequantized.
#pragma once

#include <cstdint>

namespace pangu {

// Values of one row of `type` (a GgmlType value) into f32. n is a whole number of the type's blocks.
// Returns false for a type this file does not decode.
bool dequantize_ggml_row(uint32_t type, const uint8_t* src, int64_t n, float* dst);

// A Q8_0 row of n values as int8 codes [n] and f32 scales [n / 32], exactly.
void split_q8_0_row(const uint8_t* src, int64_t n, int8_t* codes, float* scales);
// A Q4_0 row as signed int4 codes packed two per byte, column 2j in the low nibble (quant/quantize.h's
// layout) [n / 2], and f32 scales [n / 32], exactly.
void split_q4_0_row(const uint8_t* src, int64_t n, uint8_t* codes, float* scales);

// llama.cpp's reference Q8_0 quantizer (quantize_row_q8_0_ref): d = amax / 127 stored as f16, codes
// round(x / d) with the unrounded d. n is a multiple of 32; dst holds n / 32 * 34 bytes.
void quantize_q8_0_row(const float* x, int64_t n, uint8_t* dst);

}  // namespace pangu
