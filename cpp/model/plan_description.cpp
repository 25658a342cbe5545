// InferencePlan::describe: the plan as data, so that an exporter can rebuild the same computation in another
// runtime (the ONNX export, lib/export/onnx.ts). Every layer is named by what it does, every tensor by its place
// in the graph. A plan built with fold off describes its BatchNorms ("bn" of a conv) and the adaptor too.
#include "model/anomaly_map.h"
#include "model/inference_plan.h"

namespace ssn {
namespace {

class Describer {
 public:
  explicit Describer(NamedTensors& tensors) : tensors_(tensors) {}

  std::string tensor(const std::string& name, const torch::Tensor& t) {
    tensors_[name] = t.detach().to(torch::kCPU, torch::kFloat32).contiguous();
    return name;
  }

  Json conv(const std::string& name, const FoldedConv& c) {
    Json j = Json::object();
    j["weight"] = Json(tensor(name + ".weight", c.weight.contiguous()));
    j["bias"] = Json(tensor(name + ".bias", c.bias));
    j["stride"] = ints(c.stride);
    j["padding"] = ints(c.padding);
    j["dilation"] = ints(c.dilation);
    j["groups"] = Json(c.groups);
    if (c.bn.defined()) {
      Json bn = Json::object();
      bn["weight"] = Json(tensor(name + ".bn.weight", c.bn.weight));
      bn["bias"] = Json(tensor(name + ".bn.bias", c.bn.bias));
      bn["mean"] = Json(tensor(name + ".bn.running_mean", c.bn.mean));
      bn["var"] = Json(tensor(name + ".bn.running_var", c.bn.var));
      bn["eps"] = Json(c.bn.eps);
      j["bn"] = bn;
    }
    return j;
  }

  static Json ints(const std::vector<int64_t>& v) {
    Json a = Json::array();
    for (const int64_t x : v) a.push_back(Json(x));
    return a;
  }

 private:
  NamedTensors& tensors_;
};

}  // namespace

Json InferencePlan::describe(NamedTensors& tensors) const {
  Describer d(tensors);
  Json j = Json::object();
  j["image_size"] = Describer::ints({image_h_, image_w_});
  j["feature_size"] = Describer::ints({feature_h_, feature_w_});
  j["folded"] = Json(options_.fold);
  Json backbone = Json::object();
  backbone["stem"] = d.conv("backbone.stem", backbone_.stem);
  Json stages = Json::array();
  for (int s = 0; s < 3; ++s) {
    Json blocks = Json::array();
    for (size_t b = 0; b < backbone_.stages[s].size(); ++b) {
      const FoldedBlock& block = backbone_.stages[s][b];
      const std::string prefix = "backbone.layer" + std::to_string(s + 1) + "." + std::to_string(b);
      Json jb = Json::object();
      Json main = Json::array();
      for (size_t i = 0; i < block.main.size(); ++i)
        main.push_back(d.conv(prefix + ".main" + std::to_string(i), block.main[i]));
      jb["main"] = main;
      jb["shortcut"] = block.has_shortcut ? d.conv(prefix + ".shortcut", block.shortcut) : Json();
      blocks.push_back(jb);
    }
    stages.push_back(blocks);
  }
  backbone["stages"] = stages;
  j["backbone"] = backbone;
  Json heads = Json::object();
  heads["adaptor"] = heads_.has_adaptor ? d.conv("heads.adaptor", heads_.adaptor) : Json();
  heads["cls_on_adapted"] = Json(heads_.cls_on_adapted);
  heads["seg_hidden"] = d.conv("heads.seg_hidden", heads_.seg_hidden);
  heads["seg_slope"] = Json(kSegLeakySlope);
  heads["seg_out"] = d.conv("heads.seg_out", heads_.seg_out);
  heads["dec"] = d.conv("heads.dec", heads_.dec);
  heads["dec_bias_map"] =
      heads_.dec_bias_map.defined() ? Json(d.tensor("heads.dec_bias_map", heads_.dec_bias_map)) : Json();
  heads["fc_weight"] = Json(d.tensor("heads.fc.weight", heads_.fc_weight));
  heads["fc_bias"] = Json(d.tensor("heads.fc.bias", heads_.fc_bias));
  j["heads"] = heads;
  j["blur_kernel"] = Json(d.tensor("map.blur_kernel1d", blur_kernel1d_));
  return j;
}

}  // namespace ssn
