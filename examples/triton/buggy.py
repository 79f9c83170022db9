"""Buggy variants of the fused Triton cross-entropy in ``cross_entropy.py``, one change
each, the ways such kernels have really been wrong. Name the class:

    smgrad check --impl examples/triton/buggy.py:StoreThenCorrect --targets index --dtype bfloat16 --dim 32000 --batch 2

* ``StoreThenCorrect``  softmax stored in the gradient buffer's dtype, the target's
  ``1 - eps`` subtracted afterwards from the rounded value: ``y - 1`` cancels as the
  prediction becomes confident, and in bfloat16 the true-class gradient loses every digit
  at ``y = 0.999`` (a performance change in a widely used kernel did this). Wrong in
  bfloat16 and float16; in float32 the loss is within float32's own rounding.
* ``ScalarUpstream``    with ``reduction='none'`` the backward takes the upstream gradient
  as one number for the batch, not one per row.
* ``CountsIgnored``     rows whose target is ``ignore_index`` counted in the mean.
* ``FloorBlocks``       the number of vocabulary blocks rounded down: where the vocabulary
  is not a multiple of the block (32000 of 1024), its last classes are left out of the
  log-sum-exp and of the gradient.
* ``InPlace``           correct, but writes the gradient into the logits buffer (a memory
  trick): smgrad reports it, and ``--allow-inplace`` accepts it.
"""

from cross_entropy import CrossEntropy


class StoreThenCorrect(CrossEntropy):
    bug = ("store_then_correct",)


class ScalarUpstream(CrossEntropy):
    reduction = "none"
    bug = ("scalar_upstream",)


class CountsIgnored(CrossEntropy):
    bug = ("count_ignored",)


class FloorBlocks(CrossEntropy):
    bug = ("floor_blocks",)


class InPlace(CrossEntropy):
    in_place = True
