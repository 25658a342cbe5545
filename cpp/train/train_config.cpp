#include "train/train_config.h"

#include <cmath>
#include <functional>
#include <map>

#include "common/error.h"

namespace ssn {
namespace {

const char* rule_name(NoAnomalyRule r) {
  switch (r) {
    case NoAnomalyRule::Empty:
      return "empty";
    case NoAnomalyRule::Full:
      return "full";
    case NoAnomalyRule::None:
      return "none";
  }
  return "empty";
}

[[noreturn]] void config_error(const std::string& key, const std::string& what) {
  throw Error(ErrorCode::Config, "training config '" + key + "': " + what,
              "fix the value or leave the key out to get the paper's default");
}

}  // namespace

TrainConfig TrainConfig::defaults(Supervision setting, ModelVariant variant) {
  TrainConfig c;
  c.setting = setting;
  const bool jims = variant == ModelVariant::Jims;
  c.mask_align_corners = jims;  // JIMS train.py downsamples the masks with align_corners=True
  if (setting == Supervision::Unsupervised) return c;
  c.generator.perlin_thr = setting == Supervision::Weak ? 0.2 : 0.6;
  c.generator.overlap = false;
  c.stop_grad = false;
  c.clip_grad_norm = 1.0;
  c.flips = true;
  c.seed = 456654;
  if (jims) c.mask_prep = MaskPrep{7, 3.0, 2.0};  // JIMS run_sup: dilate 7, dt (3, 2)
  return c;
}

Json TrainConfig::to_json() const {
  Json j = Json::object();
  j["setting"] = Json(supervision_name(setting));
  j["epochs"] = Json(epochs);
  j["batch_size"] = Json(batch_size);
  j["micro_batches"] = Json(micro_batches);
  j["adapt_lr"] = Json(optimizer.adapt_lr);
  j["adapt_wd"] = Json(optimizer.adapt_wd);
  j["seg_lr"] = Json(optimizer.seg_lr);
  j["seg_wd"] = Json(optimizer.seg_wd);
  j["dec_lr"] = Json(optimizer.dec_lr);
  j["dec_wd"] = Json(optimizer.dec_wd);
  j["beta1"] = Json(optimizer.hyper.beta1);
  j["beta2"] = Json(optimizer.hyper.beta2);
  j["eps"] = Json(optimizer.hyper.eps);
  j["gamma"] = Json(gamma);
  j["noise"] = Json(generator.noise);
  j["perlin"] = Json(generator.perlin);
  j["perlin_thr"] = Json(generator.perlin_thr);
  j["overlap"] = Json(generator.overlap);
  j["bad"] = Json(generator.bad);
  j["no_anomaly"] = Json(rule_name(generator.no_anomaly));
  j["noise_std"] = Json(generator.noise_std);
  j["stop_grad"] = Json(stop_grad);
  j["clip_grad_norm"] = Json(clip_grad_norm);
  j["flips"] = Json(flips);
  j["seed"] = Json(static_cast<int64_t>(seed));
  j["precision"] = Json(precision_name(precision));
  Json m = Json::array();
  for (const double v : milestones) m.push_back(Json(v));
  j["milestones"] = m;
  j["dilate"] = Json(mask_prep.dilate);
  j["dt_weight"] = Json(mask_prep.dt_weight);
  j["dt_power"] = Json(mask_prep.dt_power);
  j["mask_align_corners"] = Json(mask_align_corners);
  return j;
}

TrainConfig TrainConfig::from_json(const Json& j, ModelVariant variant) {
  if (!j.is_object()) config_error("(root)", "expected a JSON object");
  Supervision setting = Supervision::Unsupervised;
  if (j.contains("setting")) {
    if (!j.at("setting").is_string()) config_error("setting", "expected a string");
    try {
      setting = parse_supervision(j.at("setting").as_string());
    } catch (const Error& e) {
      config_error("setting", e.what());
    }
  }
  TrainConfig c = defaults(setting, variant);
  auto number = [](double& out) { return [&out](const Json& v) { out = v.as_number(); }; };
  auto boolean = [](bool& out) { return [&out](const Json& v) { out = v.as_bool(); }; };
  auto integer = [](int64_t& out) { return [&out](const Json& v) { out = v.as_int(); }; };
  const std::map<std::string, std::function<void(const Json&)>> setters{
      {"setting", [](const Json& v) { v.as_string(); }},
      {"epochs", integer(c.epochs)},
      {"batch_size", integer(c.batch_size)},
      {"micro_batches", integer(c.micro_batches)},
      {"adapt_lr", number(c.optimizer.adapt_lr)},
      {"adapt_wd", number(c.optimizer.adapt_wd)},
      {"seg_lr", number(c.optimizer.seg_lr)},
      {"seg_wd", number(c.optimizer.seg_wd)},
      {"dec_lr", number(c.optimizer.dec_lr)},
      {"dec_wd", number(c.optimizer.dec_wd)},
      {"beta1", number(c.optimizer.hyper.beta1)},
      {"beta2", number(c.optimizer.hyper.beta2)},
      {"eps", number(c.optimizer.hyper.eps)},
      {"gamma", number(c.gamma)},
      {"noise", boolean(c.generator.noise)},
      {"perlin", boolean(c.generator.perlin)},
      {"perlin_thr", number(c.generator.perlin_thr)},
      {"overlap", boolean(c.generator.overlap)},
      {"bad", boolean(c.generator.bad)},
      {"no_anomaly", [&c](const Json& v) { c.generator.no_anomaly = parse_no_anomaly_rule(v.as_string()); }},
      {"noise_std", number(c.generator.noise_std)},
      {"stop_grad", boolean(c.stop_grad)},
      {"clip_grad_norm", number(c.clip_grad_norm)},
      {"flips", boolean(c.flips)},
      {"dilate", integer(c.mask_prep.dilate)},
      {"dt_weight", number(c.mask_prep.dt_weight)},
      {"dt_power", number(c.mask_prep.dt_power)},
      {"mask_align_corners", boolean(c.mask_align_corners)},
      {"precision", [&c](const Json& v) { c.precision = parse_precision(v.as_string()); }},
      {"milestones",
       [&c](const Json& v) {
         c.milestones.clear();
         for (const Json& e : v.as_array()) c.milestones.push_back(e.as_number());
       }},
      {"seed",
       [&c](const Json& v) {
         const int64_t s = v.as_int();
         if (s < 0) throw std::runtime_error("expected a non-negative integer");
         c.seed = static_cast<uint64_t>(s);
       }},
  };
  for (const auto& [key, value] : j.items()) {
    const auto setter = setters.find(key);
    if (setter == setters.end()) config_error(key, "unknown key");
    try {
      setter->second(value);
    } catch (const Error& e) {
      config_error(key, e.what());
    } catch (const std::exception& e) {
      config_error(key, e.what());
    }
  }
  c.validate();
  return c;
}

void TrainConfig::validate() const {
  if (epochs < 1) config_error("epochs", "must be >= 1");
  if (batch_size < 1) config_error("batch_size", "must be >= 1");
  if (micro_batches < 1 || micro_batches > batch_size)
    config_error("micro_batches", "must be in 1..batch_size (each part of a step needs a sample)");
  const std::pair<const char*, double> rates[] = {
      {"adapt_lr", optimizer.adapt_lr}, {"seg_lr", optimizer.seg_lr},       {"dec_lr", optimizer.dec_lr},
      {"adapt_wd", optimizer.adapt_wd}, {"seg_wd", optimizer.seg_wd},       {"dec_wd", optimizer.dec_wd},
      {"eps", optimizer.hyper.eps},     {"noise_std", generator.noise_std}, {"clip_grad_norm", clip_grad_norm}};
  for (const auto& [key, v] : rates)
    if (!(v >= 0) || !std::isfinite(v)) config_error(key, "must be a finite number >= 0");
  if (!(optimizer.hyper.beta1 >= 0 && optimizer.hyper.beta1 < 1)) config_error("beta1", "must lie in [0, 1)");
  if (!(optimizer.hyper.beta2 >= 0 && optimizer.hyper.beta2 < 1)) config_error("beta2", "must lie in [0, 1)");
  if (!(gamma > 0) || !std::isfinite(gamma)) config_error("gamma", "must be > 0");
  if (!std::isfinite(generator.perlin_thr)) config_error("perlin_thr", "must be finite");
  if (mask_prep.dilate < 0 || mask_prep.dilate > 255) config_error("dilate", "must be a square side in 0..255");
  if (!(mask_prep.dt_weight >= 0) || !std::isfinite(mask_prep.dt_weight))
    config_error("dt_weight", "must be a finite number >= 0 (0: no distance-transform weights)");
  if (!(mask_prep.dt_power > 0) || !std::isfinite(mask_prep.dt_power)) config_error("dt_power", "must be > 0");
  for (const double m : milestones)
    if (!(m >= 0) || !std::isfinite(m)) config_error("milestones", "must be finite epochs >= 0");
}

}  // namespace ssn
