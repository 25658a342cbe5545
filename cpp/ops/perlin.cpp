// Perlin noise (DSR formulation used by the official SuperSimpleNet) and the batched mask generator.
#include "ops/perlin.h"

#include <algorithm>
#include <cmath>
#include <map>
#include <sstream>
#include <string>
#include <utility>
#include <vector>

#include "common/error.h"

namespace ssn {
namespace {

constexpr double kPi = 3.14159265358979323846;

// Local coordinate frac(i * r / size) for i in [0, size): exact for the dyadic sizes of the canvas.
torch::Tensor local_coords(int64_t size, int64_t r) {
  std::vector<float> values(static_cast<size_t>(size));
  for (int64_t i = 0; i < size; ++i) {
    values[static_cast<size_t>(i)] =
        static_cast<float>(static_cast<double>((i * r) % size) / static_cast<double>(size));
  }
  return torch::tensor(values, torch::kFloat32);
}

torch::Tensor fade(const torch::Tensor& t) { return 6 * t.pow(5) - 15 * t.pow(4) + 10 * t.pow(3); }

void check_feature_size(int64_t fh, int64_t fw) {
  if (fh < 1 || fw < 1) {
    throw Error(
        ErrorCode::Shape,
        "perlin_masks: the feature size must be >= 1, got (" + std::to_string(fh) + ", " + std::to_string(fw) + ")",
        "pass the feature map size");
  }
}

}  // namespace

int64_t next_power_of_two(int64_t n) {
  int64_t p = 1;
  while (p < n) p <<= 1;
  return p;
}

NoAnomalyRule parse_no_anomaly_rule(const std::string& name) {
  if (name == "empty") return NoAnomalyRule::Empty;
  if (name == "full") return NoAnomalyRule::Full;
  if (name == "none") return NoAnomalyRule::None;
  throw Error(ErrorCode::Config, "no_anomaly must be \"empty\", \"full\" or \"none\", got \"" + name + "\"",
              "use \"empty\" (the official setting)");
}

torch::Tensor perlin_noise(int64_t hp, int64_t wp, int64_t rx, int64_t ry, const torch::Tensor& angles) {
  if (hp < 1 || wp < 1 || rx < 1 || ry < 1 || hp % rx != 0 || wp % ry != 0) {
    std::ostringstream os;
    os << "perlin_noise: the resolution (" << rx << ", " << ry << ") must divide the canvas (" << hp << ", " << wp
       << "), all >= 1";
    throw Error(ErrorCode::Shape, os.str(), "use powers of two no larger than the canvas");
  }
  const bool batched = angles.defined() && angles.dim() == 3;
  if (!angles.defined() || (angles.dim() != 2 && !batched) || angles.size(-2) != rx + 1 || angles.size(-1) != ry + 1) {
    std::ostringstream os;
    os << "perlin_noise: angles must be [" << rx + 1 << ", " << ry + 1 << "] or [S, " << rx + 1 << ", " << ry + 1
       << "], got ";
    if (angles.defined())
      os << angles.sizes();
    else
      os << "an undefined tensor";
    throw Error(ErrorCode::Shape, os.str(), "give one gradient angle per lattice corner");
  }
  if (angles.scalar_type() != torch::kFloat32) {
    throw Error(ErrorCode::Input,
                std::string("perlin_noise: angles must be float32, got ") + c10::toString(angles.scalar_type()),
                "convert with .to(torch::kFloat32)");
  }
  const torch::Tensor theta = batched ? angles : angles.unsqueeze(0);
  const auto device = theta.device();
  const torch::Tensor gx = torch::cos(theta), gy = torch::sin(theta);

  const auto index_opts = torch::TensorOptions().dtype(torch::kLong).device(device);
  const torch::Tensor cell_i = torch::arange(hp, index_opts).div(hp / rx, "floor");
  const torch::Tensor cell_j = torch::arange(wp, index_opts).div(wp / ry, "floor");
  const torch::Tensor u = local_coords(hp, rx).to(device).view({1, hp, 1});
  const torch::Tensor v = local_coords(wp, ry).to(device).view({1, 1, wp});

  // Gradient of corner (a + da, b + db) at every pixel: [S, hp, wp].
  auto corner = [&](const torch::Tensor& g, int64_t da, int64_t db) {
    return g.index_select(1, cell_i + da).index_select(2, cell_j + db);
  };
  auto dot = [&](int64_t da, int64_t db) {
    const torch::Tensor du = da == 0 ? u : u - 1;
    const torch::Tensor dv = db == 0 ? v : v - 1;
    return corner(gx, da, db) * du + corner(gy, da, db) * dv;
  };
  const torch::Tensor n00 = dot(0, 0), n10 = dot(1, 0), n01 = dot(0, 1), n11 = dot(1, 1);
  const torch::Tensor tu = fade(u).expand_as(n00), tv = fade(v).expand_as(n00);
  torch::Tensor noise = std::sqrt(2.0) * torch::lerp(torch::lerp(n00, n10, tu), torch::lerp(n01, n11, tu), tv);
  return batched ? noise : noise.squeeze(0);
}

std::vector<PerlinDraw> draw_perlin(int64_t count, int64_t hp, int64_t wp, at::Generator generator) {
  if (count < 0 || hp < 1 || wp < 1) {
    std::ostringstream os;
    os << "draw_perlin: need count >= 0 and a canvas >= 1, got count " << count << ", canvas (" << hp << ", " << wp
       << ")";
    throw Error(ErrorCode::Shape, os.str(), "pass the number of masks and the Perlin canvas size");
  }
  if (!generator.defined() || generator.device().type() != c10::DeviceType::CPU) {
    throw Error(ErrorCode::Input, "draw_perlin: a CPU generator is required",
                "create one with at::make_generator<at::CPUGeneratorImpl>(seed)");
  }
  std::vector<PerlinDraw> draws(static_cast<size_t>(count));
  for (PerlinDraw& d : draws) {
    const int64_t kx = torch::randint(0, 6, {1}, generator).item<int64_t>();
    const int64_t ky = torch::randint(0, 6, {1}, generator).item<int64_t>();
    d.rx = std::min<int64_t>(int64_t{1} << kx, hp);
    d.ry = std::min<int64_t>(int64_t{1} << ky, wp);
    d.angles = 2 * kPi * torch::rand({d.rx + 1, d.ry + 1}, generator);
    d.replace = torch::rand({1}, generator).item<float>() > 0.5f;
  }
  return draws;
}

torch::Tensor perlin_masks_from_draws(const std::vector<PerlinDraw>& draws, int64_t fh, int64_t fw, double threshold,
                                      NoAnomalyRule rule) {
  check_feature_size(fh, fw);
  const int64_t hp = next_power_of_two(fh), wp = next_power_of_two(fw);
  const auto count = static_cast<int64_t>(draws.size());
  torch::Tensor masks = torch::zeros({count, 1, fh, fw}, torch::kFloat32);
  std::map<std::pair<int64_t, int64_t>, std::vector<int64_t>> by_scale;
  for (int64_t k = 0; k < count; ++k) by_scale[{draws[k].rx, draws[k].ry}].push_back(k);
  for (const auto& [scale, members] : by_scale) {
    std::vector<torch::Tensor> angles;
    for (const int64_t k : members) angles.push_back(draws[k].angles);
    const torch::Tensor noise = perlin_noise(hp, wp, scale.first, scale.second, torch::stack(angles)).unsqueeze(1);
    const torch::Tensor resized =
        torch::nn::functional::interpolate(noise, torch::nn::functional::InterpolateFuncOptions()
                                                      .size(std::vector<int64_t>{fh, fw})
                                                      .mode(torch::kBilinear)
                                                      .align_corners(false));
    masks.index_copy_(0, torch::tensor(members, torch::kLong), (resized > threshold).to(torch::kFloat32));
  }
  if (rule != NoAnomalyRule::None) {
    for (int64_t k = 0; k < count; ++k) {
      if (draws[k].replace) masks[k].fill_(rule == NoAnomalyRule::Full ? 1.0 : 0.0);
    }
  }
  return masks;
}

torch::Tensor perlin_masks(int64_t count, int64_t fh, int64_t fw, double threshold, NoAnomalyRule rule,
                           at::Generator generator) {
  check_feature_size(fh, fw);
  return perlin_masks_from_draws(draw_perlin(count, next_power_of_two(fh), next_power_of_two(fw), std::move(generator)),
                                 fh, fw, threshold, rule);
}

}  // namespace ssn
