// Feature aggregation and the anomaly-map blur, checked against their definitions.
#include "model/anomaly_map.h"
#include "model/feature_pipeline.h"
#include "test_model_util.h"

SSN_TEST(model_pipeline_resizes_both_layers_to_twice_layer2) {
  auto f = ssn::aggregate_features(torch::randn({2, 4, 5, 3}), torch::randn({2, 6, 3, 2}));
  SSN_CHECK(f.sizes() == torch::IntArrayRef({2, 10, 10, 6}));
}

SSN_TEST(model_pipeline_avgpool_counts_padding) {
  auto f = ssn::aggregate_features(torch::ones({1, 1, 4, 4}), torch::ones({1, 1, 2, 2}));
  SSN_CHECK_CLOSE(f[0][0][0][0].item<float>(), 4.0 / 9.0, 1e-6);  // corner: 4 real values of 9
  SSN_CHECK_CLOSE(f[0][1][0][3].item<float>(), 6.0 / 9.0, 1e-6);  // edge: 6 of 9
  SSN_CHECK_CLOSE(f[0][1][4][4].item<float>(), 1.0, 1e-6);
}

SSN_TEST(model_pipeline_upsampling_uses_align_corners) {
  // A ramp along W stays a ramp with align_corners=True: column j of 2w samples j*(w-1)/(2w-1);
  // the 3x3 mean of a linear function is itself away from the border.
  const int64_t w = 5;
  auto ramp = torch::arange(w, torch::kFloat).view({1, 1, 1, w}).expand({1, 1, 3, w}).contiguous();
  auto f = ssn::aggregate_features(ramp, torch::zeros({1, 1, 2, 3}));
  for (int64_t j = 1; j < 2 * w - 1; ++j) {
    SSN_CHECK_CLOSE(f[0][0][2][j].item<float>(), j * (w - 1.0) / (2.0 * w - 1.0), 1e-5);
  }
  SSN_CHECK(f[0][1].abs().max().item<float>() == 0.0f);  // layer3 channels come second
}

SSN_TEST(model_anomaly_map_gaussian_kernel_values) {
  auto k = ssn::gaussian_kernel1d(ssn::kBlurKernelSize, ssn::kBlurSigma);
  SSN_CHECK(k.numel() == 25 && k.scalar_type() == torch::kFloat);
  SSN_CHECK_CLOSE(k[12].item<float>(), 0.0999084, 5e-7);
  SSN_CHECK_CLOSE(k[0].item<float>(), 0.0011099, 5e-7);
  SSN_CHECK_CLOSE(k[24].item<float>(), 0.0011099, 5e-7);
  SSN_CHECK_CLOSE(k.sum().item<float>(), 1.0, 1e-6);
  auto k2 = ssn::gaussian_kernel2d(ssn::kBlurKernelSize, ssn::kBlurSigma);
  SSN_CHECK(k2.sizes() == torch::IntArrayRef({1, 1, 25, 25}));
  SSN_CHECK(k2[0][0][3][7].item<float>() == k[3].item<float>() * k[7].item<float>());
}

SSN_TEST(model_anomaly_map_blur_keeps_constants) {
  auto kernel = ssn::gaussian_kernel2d(ssn::kBlurKernelSize, ssn::kBlurSigma);
  auto out = ssn::gaussian_blur_reflect(torch::full({2, 1, 13, 40}, 3.5f), kernel);
  SSN_CHECK(out.sizes() == torch::IntArrayRef({2, 1, 13, 40}));
  SSN_CHECK_CLOSE((out - 3.5f).abs().max().item<float>(), 0.0, 1e-5);
}

SSN_TEST(model_anomaly_map_blur_reflects_without_repeating_the_edge) {
  // An impulse at (1,1) is mirrored to (-1,-1) by reflect padding (not by replicate or zero padding), so the
  // corner output sees it twice per axis: (k[11] + k[13])^2.
  auto kernel = ssn::gaussian_kernel2d(ssn::kBlurKernelSize, ssn::kBlurSigma);
  auto k = ssn::gaussian_kernel1d(ssn::kBlurKernelSize, ssn::kBlurSigma);
  auto x = torch::zeros({1, 1, 20, 20});
  x[0][0][1][1] = 1.0f;
  auto out = ssn::gaussian_blur_reflect(x, kernel);
  const double along = k[11].item<float>() + k[13].item<float>();
  SSN_CHECK_CLOSE(out[0][0][0][0].item<float>(), along * along, 1e-7);
  SSN_CHECK_CLOSE(out[0][0][1][1].item<float>(),
                  k[12].item<float>() * k[12].item<float>() + 2 * k[12].item<float>() * k[10].item<float>() +
                      k[10].item<float>() * k[10].item<float>(),
                  1e-7);
}
