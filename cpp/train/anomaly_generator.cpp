#include "train/anomaly_generator.h"

#include <sstream>
#include <string>

#include "common/error.h"
#include "ops/noise_inject.h"

namespace ssn {
namespace {

std::string sizes_of(const torch::Tensor& t) {
  if (!t.defined()) return "an undefined tensor";
  std::ostringstream os;
  os << t.sizes();
  return os.str();
}

[[noreturn]] void shape_error(const std::string& what, const std::string& expected, const torch::Tensor& got) {
  throw Error(ErrorCode::Shape, "generate_anomalies: " + what + " must be " + expected + ", got " + sizes_of(got),
              "pass adapted features [B,C,fh,fw], masks [B,1,fh,fw] and labels [B]");
}

std::string dims(std::initializer_list<int64_t> sizes) {
  std::ostringstream os;
  os << at::IntArrayRef(sizes);
  return os.str();
}

}  // namespace

StepDraws draw_step(const AnomalyGeneratorConfig& config, AnomalyRandom& random, int64_t batch, int64_t fh,
                    int64_t fw) {
  StepDraws d;
  d.batch = batch;
  d.noise_seed = random.noise_seed;
  if (!config.noise) return d;
  if (config.perlin) {
    d.perlin_masks = perlin_masks(2 * batch, fh, fw, config.perlin_thr, config.no_anomaly, random.perlin_generator);
  }
  d.noise_offset = random.noise_offset++;
  return d;
}

AnomalyBatch generate_anomalies(const torch::Tensor& adapted, const torch::Tensor& gt_mask, const torch::Tensor& labels,
                                const AnomalyGeneratorConfig& config, AnomalyRandom& random,
                                const AnomalyInjection* injection, const torch::Tensor& features) {
  // Bad shapes are reported by the call below before anything is drawn.
  if (!adapted.defined() || adapted.dim() != 4 || adapted.size(0) < 1 || adapted.size(2) < 1 || adapted.size(3) < 1) {
    return generate_anomalies(adapted, gt_mask, labels, config, StepDraws{}, 0, injection, features);
  }
  const StepDraws draws = draw_step(config, random, adapted.size(0), adapted.size(2), adapted.size(3));
  return generate_anomalies(adapted, gt_mask, labels, config, draws, 0, injection, features);
}

AnomalyBatch generate_anomalies(const torch::Tensor& adapted, const torch::Tensor& gt_mask, const torch::Tensor& labels,
                                const AnomalyGeneratorConfig& config, const StepDraws& draws, int64_t first,
                                const AnomalyInjection* injection, const torch::Tensor& features) {
  if (!adapted.defined() || adapted.dim() != 4 || adapted.size(0) < 1 || adapted.size(2) < 1 || adapted.size(3) < 1) {
    shape_error("adapted features", "[B,C,fh,fw] with B, fh, fw >= 1", adapted);
  }
  if (adapted.scalar_type() != torch::kFloat32) {
    throw Error(ErrorCode::Input,
                std::string("generate_anomalies: adapted features must be float32, got ") +
                    c10::toString(adapted.scalar_type()),
                "run the adaptor in float32 during training");
  }
  const int64_t b = adapted.size(0), c = adapted.size(1), fh = adapted.size(2), fw = adapted.size(3);
  if (!gt_mask.defined() || gt_mask.dim() != 4 || gt_mask.size(0) != b || gt_mask.size(1) != 1 ||
      gt_mask.size(2) != fh || gt_mask.size(3) != fw) {
    shape_error("gt_mask", dims({b, 1, fh, fw}), gt_mask);
  }
  if (!labels.defined() || labels.dim() != 1 || labels.size(0) != b) shape_error("labels", dims({b}), labels);
  if (features.defined() && !features.sizes().equals(adapted.sizes())) {
    shape_error("features", "shaped like the adapted features", features);
  }
  if (first < 0 || first + b > draws.batch) {
    throw Error(ErrorCode::Shape,
                "generate_anomalies: samples " + std::to_string(first) + ".." + std::to_string(first + b - 1) +
                    " are outside the step's batch of " + std::to_string(draws.batch),
                "draw the step for its whole batch (draw_step) and pass each part's first sample");
  }
  const auto device = adapted.device();
  const torch::Tensor m_gt = gt_mask.to(device, torch::kFloat32);
  const torch::Tensor y_gt = labels.to(device, torch::kFloat32);
  const torch::Tensor f = features.defined() ? features.to(device, torch::kFloat32) : torch::Tensor();
  if (!config.noise) return {adapted, f, m_gt, y_gt};

  const bool inject_perlin = injection != nullptr && injection->perlin_masks.defined();
  const bool inject_noise = injection != nullptr && injection->noise.defined();
  if (inject_perlin && (injection->perlin_masks.dim() != 4 || injection->perlin_masks.size(0) != 2 * b ||
                        injection->perlin_masks.size(1) != 1 || injection->perlin_masks.size(2) != fh ||
                        injection->perlin_masks.size(3) != fw)) {
    shape_error("the injected perlin_masks", dims({2 * b, 1, fh, fw}), injection->perlin_masks);
  }
  if (inject_noise && !injection->noise.sizes().equals({2 * b, c, fh, fw})) {
    shape_error("the injected noise", dims({2 * b, c, fh, fw}), injection->noise);
  }

  // 1. duplicate: both copies get independent masks and noise.
  const torch::Tensor m = torch::cat({m_gt, m_gt});
  const torch::Tensor y = torch::cat({y_gt, y_gt});

  // 3. noise mask N.
  torch::Tensor n = torch::ones({2 * b, 1, fh, fw}, torch::TensorOptions().dtype(torch::kFloat32).device(device));
  if (!config.bad) n = n * (1 - y.view({2 * b, 1, 1, 1}));
  if (!config.overlap) n = n * (1 - m);
  if (config.perlin) {
    const int64_t batch = draws.batch;
    if (!inject_perlin &&
        (!draws.perlin_masks.defined() || !draws.perlin_masks.sizes().equals({2 * batch, 1, fh, fw}))) {
      shape_error("the step's perlin_masks", dims({2 * batch, 1, fh, fw}), draws.perlin_masks);
    }
    const torch::Tensor perlin =
        inject_perlin
            ? injection->perlin_masks
            : torch::cat({draws.perlin_masks.narrow(0, first, b), draws.perlin_masks.narrow(0, batch + first, b)});
    n = n * perlin.to(device, torch::kFloat32);
  } else {
    n.narrow(0, 0, b).zero_();
  }

  // 4. targets.
  const torch::Tensor target_mask = ((m + n) > 0).to(torch::kFloat32);
  const torch::Tensor any_anomaly = target_mask.view({2 * b, -1}).amax(1);
  const torch::Tensor target_label = ((y + any_anomaly) > 0).to(torch::kFloat32);

  // 2 + 5. masked Gaussian noise; the gradient reaches the features through the copies. Copy k of sample
  // first + i is row k*B + first + i of the step's stream. The same stream draws the same noise for the
  // features (JIMS adds one noise tensor to both).
  auto add_noise = [&](const torch::Tensor& x) {
    if (inject_noise) return torch::cat({x, x}) + injection->noise.to(device, torch::kFloat32) * n;
    const auto copy = [&](int64_t k) {
      return noise_inject(x, n.narrow(0, k * b, b), config.noise_std, draws.noise_seed, draws.noise_offset,
                          k * draws.batch + first);
    };
    return torch::cat({copy(0), copy(1)});
  };
  const torch::Tensor perturbed = add_noise(adapted);
  const torch::Tensor perturbed_features = f.defined() ? add_noise(f) : torch::Tensor();
  return {perturbed, perturbed_features, target_mask, target_label};
}

}  // namespace ssn
