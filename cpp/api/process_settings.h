// The settings of libtorch that are process-wide although they come from per-model options. They live here,
// in one place, so that every one of them is visible and its rule stated:
// - the seed: libtorch's default generator is process-wide. Models are built and their heads initialised under
//   one lock after manual_seed, so that models created in parallel with the same seed are the same model.
// - threads: libtorch has ONE intra-op pool per process. A model's `threads` option resizes it for every
//   model in the process; the last model created or loaded with the option wins. (The Node loader sets
//   OMP_NUM_THREADS to the machine's cores before libtorch starts, so the default uses every core.)
// - cuDNN benchmark: on for every CUDA model. Inference shapes are fixed per batch size, so autotuning once
//   per shape pays; training and other libraries in the process get it too.
// - TF32: off as soon as an fp32 CUDA model exists, so that fp32 means fp32 (parity with the official code).
//   It stays off for the process: a bf16 or fp16 model does not use TF32, and turning it back on would change
//   the numbers of an fp32 model running beside it.
// - freed memory: glibc keeps the pages a disposed model freed in its arenas; they are handed back to the system
//   when a model is freed, so that create/dispose cycles do not grow the process.
#pragma once
#include <cstdint>
#include <mutex>

#include <torch/torch.h>

#include "common/precision.h"

namespace ssn {

// Held while seeding libtorch's default generator and drawing a model's initial weights.
std::mutex& seeded_construction_mutex();

// Validates the count (0 keeps libtorch's choice, up to 1024) and resizes the process's intra-op pool.
void set_process_threads(int64_t threads);

// cuDNN autotuning for CUDA models, and TF32 off when an fp32 model runs on CUDA.
void configure_cuda_for_model(const torch::Device& device, Precision precision);

// Returns the allocator's free pages to the system (glibc malloc_trim; a no-op elsewhere). Called after a model
// is freed: a few milliseconds, never on the prediction path.
void release_freed_memory();

}  // namespace ssn
