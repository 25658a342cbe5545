#include "train/optimizer.h"

#include <cmath>
#include <sstream>

#include "common/error.h"

namespace ssn {

AdamW::AdamW(std::vector<ParamGroup> groups, AdamWHyper hyper) : groups_(std::move(groups)), hyper_(hyper) {
  for (const auto& g : groups_) {
    if (!(g.lr >= 0) || !(g.weight_decay >= 0)) {
      throw Error(ErrorCode::Config, "AdamW group '" + g.name + "': learning rate and weight decay must be >= 0",
                  "check the training configuration");
    }
  }
  if (!(hyper_.beta1 >= 0 && hyper_.beta1 < 1 && hyper_.beta2 >= 0 && hyper_.beta2 < 1 && hyper_.eps >= 0)) {
    throw Error(ErrorCode::Config, "AdamW: betas must lie in [0, 1) and eps be >= 0",
                "use the defaults 0.9, 0.999, 1e-8");
  }
}

void AdamW::zero_grad() {
  for (auto& g : groups_) {
    for (auto& p : g.params) {
      if (p.second.grad().defined()) p.second.mutable_grad() = torch::Tensor();
    }
  }
}

void AdamW::step() {
  torch::NoGradGuard no_grad;
  const double beta1 = hyper_.beta1, beta2 = hyper_.beta2;
  for (auto& g : groups_) {
    for (auto& [name, p] : g.params) {
      const torch::Tensor& grad = p.grad();
      if (!grad.defined()) continue;
      Moments& s = state_[name];
      if (!s.exp_avg.defined()) {
        s.exp_avg = torch::zeros_like(p, torch::MemoryFormat::Preserve);
        s.exp_avg_sq = torch::zeros_like(p, torch::MemoryFormat::Preserve);
      }
      s.step += 1;
      p.mul_(1 - g.lr * g.weight_decay);
      s.exp_avg.lerp_(grad, 1 - beta1);
      s.exp_avg_sq.mul_(beta2).addcmul_(grad, grad, 1 - beta2);
      // Bias corrections in double on the host, as torch 2.1 does for a non-capturable step.
      const double step = static_cast<double>(s.step);
      const double bias_correction1 = 1 - std::pow(beta1, step);
      const double bias_correction2 = 1 - std::pow(beta2, step);
      const double step_size = g.lr / bias_correction1;
      const torch::Tensor denom = (s.exp_avg_sq.sqrt() / std::sqrt(bias_correction2)).add_(hyper_.eps);
      p.addcdiv_(s.exp_avg, denom, -step_size);
    }
  }
}

NamedTensors AdamW::export_state(const std::string& prefix) const {
  NamedTensors out;
  for (const auto& [name, s] : state_) {
    out[prefix + name + ".exp_avg"] = s.exp_avg.detach().to(torch::kCPU).clone();
    out[prefix + name + ".exp_avg_sq"] = s.exp_avg_sq.detach().to(torch::kCPU).clone();
    out[prefix + name + ".step"] = torch::tensor(s.step, torch::kInt64);
  }
  return out;
}

std::vector<torch::Tensor> AdamW::parameters() const {
  std::vector<torch::Tensor> out;
  for (const auto& g : groups_)
    for (const auto& p : g.params) out.push_back(p.second);
  return out;
}

void AdamW::import_state(const NamedTensors& state, const std::string& prefix) {
  std::map<std::string, Moments> restored;
  size_t used = 0;
  for (const auto& g : groups_) {
    for (const auto& [name, p] : g.params) {
      const auto step = state.find(prefix + name + ".step");
      if (step == state.end()) continue;  // never stepped
      const auto m = state.find(prefix + name + ".exp_avg");
      const auto v = state.find(prefix + name + ".exp_avg_sq");
      if (m == state.end() || v == state.end() || !m->second.sizes().equals(p.sizes()) ||
          !v->second.sizes().equals(p.sizes()) || step->second.numel() != 1) {
        throw Error(ErrorCode::Checkpoint,
                    "training state: the AdamW moments of '" + name + "' are missing or mis-shaped",
                    "resume from a state saved by the same model");
      }
      Moments s;
      s.exp_avg = m->second.to(p.device(), p.scalar_type()).clone();
      s.exp_avg_sq = v->second.to(p.device(), p.scalar_type()).clone();
      s.step = step->second.item<int64_t>();
      restored[name] = std::move(s);
      used += 3;
    }
  }
  size_t present = 0;
  for (const auto& kv : state) present += kv.first.rfind(prefix, 0) == 0 ? 1 : 0;
  if (present != used) {
    throw Error(
        ErrorCode::Checkpoint,
        "training state: " + std::to_string(present - used) + " optimizer entries name no parameter of this model",
        "resume from a state saved by the same model");
  }
  state_ = std::move(restored);
}

namespace {
bool starts_with(const std::string& s, const std::string& prefix) { return s.rfind(prefix, 0) == 0; }
}  // namespace

AdamW make_supersimplenet_optimizer(SuperSimpleNet& net, const OptimizerConfig& c) {
  ParamGroup adaptor{"adaptor", {}, c.adapt_lr, c.adapt_lr, c.adapt_wd};
  ParamGroup seg{"seg", {}, c.seg_lr, c.seg_lr, c.seg_wd};
  ParamGroup cls{"cls", {}, c.dec_lr, c.dec_lr, c.dec_wd};
  for (const auto& p : net->named_parameters(true)) {
    const std::string& k = p.key();
    if (starts_with(k, "feature_adaptor.")) {
      adaptor.params.emplace_back(k, p.value());
    } else if (starts_with(k, "discriminator.seg.")) {
      seg.params.emplace_back(k, p.value());
    } else if (starts_with(k, "discriminator.dec_head.") || starts_with(k, "discriminator.fc_score.")) {
      cls.params.emplace_back(k, p.value());
    }
  }
  return AdamW({adaptor, seg, cls}, c.hyper);
}

MultiStepLR::MultiStepLR(std::vector<double> milestones, double gamma)
    : milestones_(std::move(milestones)), gamma_(gamma) {
  if (!(gamma > 0)) throw Error(ErrorCode::Config, "MultiStepLR: gamma must be > 0", "the paper uses 0.4");
}

MultiStepLR MultiStepLR::official(int64_t epochs, double gamma) {
  // The same double products as Python's `epochs * 0.8` (IEEE multiplication is commutative).
  const double e = static_cast<double>(epochs);
  return MultiStepLR({0.8 * e, 0.9 * e}, gamma);
}

int64_t MultiStepLR::hits(int64_t epoch) const {
  int64_t n = 0;
  for (double m : milestones_) n += m == static_cast<double>(epoch) ? 1 : 0;
  return n;
}

void MultiStepLR::step(AdamW& optimizer) {
  last_epoch_ += 1;
  const int64_t n = hits(last_epoch_);
  if (n == 0) return;
  for (auto& g : optimizer.groups()) g.lr = g.lr * std::pow(gamma_, static_cast<double>(n));
}

void MultiStepLR::restore(AdamW& optimizer, int64_t last_epoch) {
  if (last_epoch < 0) throw Error(ErrorCode::Checkpoint, "training state: negative scheduler epoch", "");
  for (auto& g : optimizer.groups()) g.lr = g.initial_lr;
  last_epoch_ = 0;
  while (last_epoch_ < last_epoch) step(optimizer);
}

double MultiStepLR::factor_at(int64_t epoch) const {
  double f = 1.0;
  for (int64_t e = 1; e <= epoch; ++e) {
    const int64_t n = hits(e);
    if (n) f = f * std::pow(gamma_, static_cast<double>(n));
  }
  return f;
}

torch::Tensor global_grad_norm(const std::vector<torch::Tensor>& params) {
  std::vector<torch::Tensor> norms;
  for (const auto& p : params) {
    if (p.grad().defined()) norms.push_back(p.grad().detach().norm(2));
  }
  if (norms.empty()) return torch::zeros({});
  const auto device = norms.front().device();
  for (auto& n : norms) n = n.to(device);
  return torch::stack(norms).norm(2);
}

torch::Tensor clip_grad_norm(const std::vector<torch::Tensor>& params, double max_norm) {
  const torch::Tensor total = global_grad_norm(params);
  const torch::Tensor coef = torch::clamp(max_norm / (total + 1e-6), c10::nullopt, 1.0);
  torch::NoGradGuard no_grad;
  for (const auto& p : params) {
    if (p.grad().defined()) p.grad().mul_(coef.to(p.grad().device()));
  }
  return total;
}

}  // namespace ssn
