// Test-only reader of numpy .npz files (a zip of .npy entries, stored or deflated) for the golden fixtures.
#pragma once
#include <map>
#include <string>

#include <torch/torch.h>

namespace ssn_test {

// Every array of the archive by name without ".npy"; dtypes <f4 <f8 <i8 <i4 |u1 |b1, C order only.
// Throws std::runtime_error on anything else.
std::map<std::string, torch::Tensor> read_npz(const std::string& path);

// Raw DEFLATE (RFC 1951) decoder, exposed for its own test.
std::string inflate_raw(const std::string& compressed, size_t expected_size);

}  // namespace ssn_test
