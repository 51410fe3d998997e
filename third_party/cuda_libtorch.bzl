"""A CUDA build of LibTorch from a folder named by $PIPEBENCH_CUDA_LIBTORCH (for --config=nccl).

Only `--config=nccl` builds refer to @libtorch_cuda, so the default CPU build never evaluates this
rule and needs neither the variable nor CUDA.
"""

def _cuda_libtorch_impl(ctx):
    root = ctx.os.environ.get("PIPEBENCH_CUDA_LIBTORCH", "")
    if not root:
        fail("--config=nccl needs a CUDA build of LibTorch (1.13, cxx11 ABI): set " +
             "PIPEBENCH_CUDA_LIBTORCH to its root, the folder holding include/ and lib/")
    for sub in ["include", "lib"]:
        if not ctx.path(root + "/" + sub).exists:
            fail("PIPEBENCH_CUDA_LIBTORCH=%s has no %s/ folder" % (root, sub))
        ctx.symlink(root + "/" + sub, sub)
    ctx.template("BUILD", ctx.attr.build_file, {"%{root}": root})

cuda_libtorch_repository = repository_rule(
    implementation = _cuda_libtorch_impl,
    attrs = {"build_file": attr.label(allow_single_file = True)},
    environ = ["PIPEBENCH_CUDA_LIBTORCH"],
    local = True,
)
