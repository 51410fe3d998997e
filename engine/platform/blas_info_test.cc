#include "engine/platform/blas_info.h"

#include <torch/torch.h>

#include "gtest/gtest.h"

namespace pipebench {
namespace {

TEST(BlasInfoTest, LibTorchProcessLoadsOpenBlas) {
  // A real product through LibTorch, so the BLAS it runs on is the one under test.
  torch::manual_seed(0);
  torch::Tensor a = torch::randn({64, 64});
  torch::Tensor product = torch::mm(a, torch::eye(64));
  EXPECT_TRUE(torch::allclose(product, a));

  const BlasInfo info = DetectBlas();
  EXPECT_EQ(info.kind, BlasKind::kOpenBlas) << "loaded BLAS: " << info.path;
  EXPECT_TRUE(CheckFastBlas(info).ok());
}

TEST(BlasInfoTest, ReferenceBlasIsRejectedWithTheFix) {
  const BlasInfo reference{BlasKind::kReference, "/usr/lib/x86_64-linux-gnu/blas/libblas.so.3"};
  const absl::Status status = CheckFastBlas(reference);
  EXPECT_EQ(status.code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_NE(status.message().find("libopenblas0-pthread"), absl::string_view::npos);
}

}  // namespace
}  // namespace pipebench
