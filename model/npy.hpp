// NumPy .npy files of float32 (little-endian, C order): --logits-out and the golden fixtures.
#pragma once

#include <dshal/dshal.hpp>

#include <cstdint>
#include <filesystem>
#include <vector>

namespace dshal::model {

Status write_npy_f32(const std::filesystem::path& path, const std::vector<int64_t>& shape, const float* data);
// Reads '<f4' C-order arrays of any rank; errors name the file and what is wrong.
Status read_npy_f32(const std::filesystem::path& path, std::vector<int64_t>* shape, std::vector<float>* data);

}  // namespace dshal::model
