"""The knobs a mistake turns: each is read by one part of the renderer, and
the defaults render correct code."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Bugs:
    """Deviations from a correct student (all defaults: none).

    Renderers read these and nothing else about mistakes; the table in
    :mod:`tests.styles._mistakes` says which mistake turns which knob.
    """

    #: forward: z = W a + b (False: the bias is left out).
    forward_bias: bool = True
    #: forward: z = W a + b + 0j, a complex number in every layer.
    complex_forward: bool = False
    #: softmax: stabilised as the style does it (False: a plain exp).
    softmax_stable: bool = True
    #: backward: the lowest layer that gets gradients (2: layer 1 gets none).
    lowest_layer: int = 1
    #: δ⁽ᴸ⁾ from y − ŷ instead of ŷ − y.
    flipped_sign: bool = False
    #: the mse gradient's factor 2.
    mse_two: bool = True
    #: the clean ŷ − y multiplied by ŷ(1 − ŷ) again.
    output_fprime_twice: bool = False
    #: the softmax/cce δ as (−y/ŷ)/M times ŷ(1 − ŷ).
    softmax_diagonal: bool = False
    #: how many times 1/M is applied: "once" where the style applies it, "never" or "twice".
    batch_mean: str = "once"
    #: dW = a δᵀ instead of δ aᵀ.
    transposed_dW: bool = False
    #: db "summed" over the batch, "kept" per example (the batch axis, or the last
    #: example alone), "units" (summed over the units instead), or "flat" (summed
    #: without keepdims: shape (n,)).
    db_form: str = "summed"
    #: the hidden layers' f′ in the recurrence: "right", "none", "at_a" (f′ evaluated
    #: at the cached a), or "wrong" (a misformula of ``wrong_fprime_of``).
    hidden_fprime: str = "right"
    wrong_fprime_of: str = "tanh"
    #: the W of the recurrence: "next" (W⁽ˡ⁺¹⁾ᵀ), "same_layer" (W⁽ˡ⁾ᵀ), "untransposed"
    #: (W⁽ˡ⁺¹⁾), or "updated" (W⁽ˡ⁺¹⁾ after W -= η dW in place).
    recurrence_W: str = "next"
    #: the hidden δ computed (False: left at zero).
    propagated: bool = True
    #: the output layer's f′ in the δ sent down from it (False: ∂L/∂ŷ is sent down).
    output_fprime_in_recurrence: bool = True
    #: update() writes W -= η dW into the caller's arrays.
    update_in_place: bool = False
    #: ŷ − y computed into the caller's Y (np.subtract(..., out=Y)).
    overwrite_Y: bool = False
    #: per-example sums kept in module-level arrays, reused by the next call.
    persistent_sums: bool = False
    #: (key, factor): that one gradient multiplied by factor.
    scaled: tuple[str, float] | None = None
    #: the dtype the gradient buffer or accumulators are allocated with, when it is
    #: not the parameters' float ("int" or "complex").
    buffer_dtype: str | None = None
    #: backward replaced by differences of the loss through forward(): "" (no),
    #: "central" or "complex_step".
    numerical: str = ""


CORRECT = Bugs()
