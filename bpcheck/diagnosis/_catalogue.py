"""The built-in catalogue: the mistakes the lesson lists, in its own words.

Order matters only for presentation: a wrong forward pass first, then the
gradient mistakes from the output layer down, then behaviour.
"""

from __future__ import annotations

from bpcheck._hookimpl import hookimpl
from bpcheck.diagnosis import _fitted
from bpcheck.diagnosis import _recognise as r
from bpcheck.diagnosis._mistake import Mistake

PITFALL_1 = "Pitfall 1: forgetting f′(z) in the recurrence"
PITFALL_2 = "Pitfall 2: misordering the outer product"
PITFALL_3 = "Pitfall 3: not summing the bias gradient over the batch"
PITFALL_4 = "Pitfall 4: dividing by M twice, or not at all"
PITFALL_5 = "Pitfall 5: not gradient-checking a hand-written backward pass"
COST = "Cost: backprop gets every gradient in one forward and one backward pass"
OTHER = "Other classic mistakes: "
L2 = "A course's L2 penalty (CS231n's reg): the gradients add the derivative of what the loss adds"


BUILTIN_MISTAKES: tuple[Mistake, ...] = (
    Mistake(
        "forward_mismatch",
        "your forward pass gives a different ŷ than the lesson's",
        "The forward pass z⁽ˡ⁾ = W⁽ˡ⁾ a⁽ˡ⁻¹⁾ + b⁽ˡ⁾, a⁽ˡ⁾ = f_ℓ(z⁽ˡ⁾) does not produce the "
        "reference's AL. Every gradient is computed from the cached forward values, so they "
        "cannot be judged until the forward pass is right.",
        "Check each layer's z = W a + b (the bias, the order W @ A) and the activation, "
        "softmax over each column (axis 0).",
        "The network: z⁽ˡ⁾ = W⁽ˡ⁾ a⁽ˡ⁻¹⁾ + b⁽ˡ⁾, a⁽ˡ⁾ = f_ℓ(z⁽ˡ⁾)",
        r.forward_mismatch,
    ),
    Mistake(
        "complex_forward",
        "your forward pass returns complex numbers",
        "Real parameters and inputs give a real forward pass: z⁽ˡ⁾ = W⁽ˡ⁾ a⁽ˡ⁻¹⁾ + b⁽ˡ⁾ and every "
        "activation map real numbers to real numbers. A complex AL is the wrong type even where "
        "every imaginary part is 0: NumPy discards the imaginary parts, with a warning, wherever "
        "it is used as real. It usually comes from an array made with dtype=complex, or from a "
        "complex step (θ + ih) left in the forward pass.",
        "Keep forward() real: create arrays as floats (np.zeros(shape)), and leave complex "
        "steps to gradient checking, taking their .imag there.",
        "The network: z⁽ˡ⁾ = W⁽ˡ⁾ a⁽ˡ⁻¹⁾ + b⁽ˡ⁾, a⁽ˡ⁾ = f_ℓ(z⁽ˡ⁾)",
        r.complex_forward,
    ),
    Mistake(
        "unstable_softmax",
        "your softmax overflows for large logits",
        "softmax(z) = e^z / Σ e^z computed directly overflows once a logit is above about 709: "
        "e^z becomes inf and inf/inf is nan. Softmax is unchanged by subtracting the same number "
        "from every logit of a column, which keeps the exponents ≤ 0.",
        "Compute e = np.exp(z - z.max(axis=0, keepdims=True)), "
        "then e / e.sum(axis=0, keepdims=True).",
        OTHER + "a softmax without max-subtraction, which overflows",
        r.unstable_softmax,
    ),
    Mistake(
        "unstable_output_delta",
        "your output δ divides by ŷ(1 − ŷ), which is 0 when the sigmoid saturates",
        "The textbook derivative ∂L/∂ŷ = (ŷ − y)/(ŷ(1 − ŷ)) times σ′(z) is right in exact "
        "arithmetic, but once a logit is large ŷ is exactly 0 or 1 in floating point: the "
        "division gives inf or nan, and a clipped ŷ gives a finite number times σ′(z) = 0. The "
        "two factors cancel on paper; the lesson's δ⁽ᴸ⁾ = ŷ − y never divides.",
        "For sigmoid with bce compute the output δ as (AL - Y) / M directly.",
        "The equations: sigmoid with BCE simplifies to δ⁽ᴸ⁾ = ŷ − y",
        r.unstable_output_delta,
    ),
    Mistake(
        "missing_gradients",
        "backward() does not return every dW and db",
        "The contract asks for dWℓ and dbℓ of every layer; some are absent, often all but the "
        "last layers (a return inside the layer loop, or a loop that stops early).",
        "Loop over every layer ℓ = L … 1 and return the dict after the loop.",
        OTHER + "hidden layers left with zero gradient",
        r.missing_gradients,
    ),
    Mistake(
        "integer_gradients",
        "backward() returns integer gradient arrays",
        "A gradient array of an integer dtype rounds every entry to a whole number, so almost "
        "every gradient becomes 0. It usually comes from an accumulator made with "
        "np.zeros_like(W) for an integer W, or np.zeros(shape, dtype=int).",
        "Create gradient arrays as floats: np.zeros(W.shape) or np.zeros_like(W, dtype=float).",
        "Example 3: ∂L/∂W = δ aᵀ has the same shape as W (and holds real numbers)",
        r.integer_gradients,
    ),
    Mistake(
        "complex_gradients",
        "backward() returns complex gradient arrays",
        "A gradient of the real loss is a real number, so a complex gradient array is the wrong "
        "type even where every imaginary part is 0: NumPy discards the imaginary parts, with a "
        "warning, wherever it is used as real. It usually comes from an accumulator made with "
        "np.zeros(shape, dtype=complex), or from a complex-step derivative (whose derivative is "
        "Im L(θ + ih) / h) returned whole.",
        "Create gradient arrays as real floats: np.zeros(W.shape), and compute them with "
        "backprop's real equations.",
        "Example 3: ∂L/∂W = δ aᵀ has the same shape as W (and holds real numbers)",
        r.complex_gradients,
    ),
    Mistake(
        "output_delta_sign",
        "your output δ is y − ŷ instead of ŷ − y",
        "δ⁽ᴸ⁾ = ∂L/∂z⁽ᴸ⁾ is ŷ − y (times f′ for mse). Written y − ŷ, every gradient has its "
        "sign flipped, and gradient descent climbs the loss.",
        "Use AL - Y, not Y - AL.",
        OTHER + "a sign flip, writing y − ŷ",
        r.by_values("output_delta_sign"),
    ),
    Mistake(
        "mse_missing_factor_two",
        "your mse gradient misses the factor 2",
        "With L = (1/M) Σ (ŷ − y)², ∂L/∂ŷ = 2(ŷ − y)/M. Without the 2, every gradient is half "
        "the true one.",
        "Use 2 * (AL - Y) / M for the mse output gradient.",
        OTHER + "MSE taken without the factor 2",
        r.by_values("mse_missing_factor_two"),
    ),
    Mistake(
        "output_activation_derivative_applied_twice",
        "your output δ multiplies the clean ŷ − y by the output derivative again",
        "For sigmoid with bce and softmax with cce, δ⁽ᴸ⁾ = ŷ − y already contains f_L′: the "
        "derivative of the loss and of the activation cancel. Multiplying by σ′(z) or the "
        "softmax derivative again shrinks every gradient wrongly.",
        "For sigmoid+bce and softmax+cce use δ⁽ᴸ⁾ = (AL - Y) / M as it is.",
        OTHER + "multiplying the clean ŷ − y by σ′ or softmax′ a second time",
        r.by_values("output_activation_derivative_applied_twice"),
    ),
    Mistake(
        "softmax_diagonal_derivative",
        "your softmax δ uses only the diagonal of the softmax Jacobian",
        "Softmax couples every output: ∂ŷᵢ/∂zⱼ = ŷᵢ(δᵢⱼ − ŷⱼ), a full Jacobian. Taking only its "
        "diagonal ŷ(1 − ŷ), as if softmax were element-wise like σ, and multiplying it by "
        "∂L/∂ŷ = −y/ŷ gives −y(1 − ŷ), not the lesson's ŷ − y.",
        "For softmax with cce use δ⁽ᴸ⁾ = (AL - Y) / M, which is the whole Jacobian worked out.",
        "The equations: softmax with CCE simplifies to δ⁽ᴸ⁾ = ŷ − y",
        r.by_values("softmax_diagonal_derivative"),
    ),
    Mistake(
        "output_derivative_missing_in_recurrence",
        "the δ you send down from the output layer misses the output's f′",
        "δ⁽ᴸ⁾ = ∂L/∂ŷ ⊙ f_L′(z⁽ᴸ⁾), and it is this δ⁽ᴸ⁾ that the recurrence sends down: "
        "δ⁽ᴸ⁻¹⁾ = ((W⁽ᴸ⁾)ᵀ δ⁽ᴸ⁾) ⊙ f′(z⁽ᴸ⁻¹⁾). Sending ∂L/∂ŷ (e.g. Wᵀ(ŷ − y)) instead leaves the "
        "output layer's gradients right but every hidden layer's wrong (a well-known slip of a "
        "popular tutorial).",
        "Compute delta = dL/dAL * f_prime(ZL) once, use it for dWL and dbL, and send that same "
        "delta down the recurrence.",
        PITFALL_1,
        r.by_values("output_derivative_missing_in_recurrence"),
    ),
    Mistake(
        "batch_mean_missing",
        "your gradients never divide by M",
        "Every loss is averaged over the batch, so ∂L/∂W = (1/M) Δ Aᵀ and ∂L/∂b = (1/M) Σ δ. "
        "Without the 1/M the gradients are those of the batch sum, M times too large.",
        "Divide by M once: either in δ⁽ᴸ⁾ (then nowhere else) or in every dW and db.",
        PITFALL_4,
        r.by_values("batch_mean_missing"),
    ),
    Mistake(
        "batch_mean_applied_twice",
        "your gradients divide by M twice",
        "If the 1/M is already inside δ (because the loss is a mean), it must not be applied "
        "again in dW and db; done twice, the gradients are M times too small and training is "
        "M× too slow.",
        "Divide by M once: either in δ⁽ᴸ⁾ or in dW and db, not both.",
        PITFALL_4,
        r.by_values("batch_mean_applied_twice"),
    ),
    Mistake(
        "transposed_weight_gradient",
        "your dW is a δᵀ instead of δ aᵀ",
        "∂L/∂W⁽ˡ⁾ = δ⁽ˡ⁾ (a⁽ˡ⁻¹⁾)ᵀ is (n_ℓ × n_ℓ₋₁), the shape of W. Written a δᵀ it is "
        "(n_ℓ₋₁ × n_ℓ), or, for a square layer or after a reshape, holds the transposed values.",
        "dW = delta @ A_prev.T (with the 1/M if δ does not carry it).",
        PITFALL_2,
        r.either(
            r.by_values("transposed_weight_gradient"), r.by_shape("transposed_weight_gradient")
        ),
    ),
    Mistake(
        "bias_not_summed_over_batch",
        "your db is not summed over the batch",
        "∂L/∂b = (1/M) Σ over examples of δ, a column of shape (n_ℓ, 1). Keeping the batch "
        "axis, taking one example's δ, or summing over the units (axis 0) instead makes db "
        "too small or the wrong shape.",
        "db = delta.sum(axis=1, keepdims=True) (with the 1/M if δ does not carry it).",
        PITFALL_3,
        r.either(
            r.by_values("bias_not_summed_over_batch"), r.by_shape("bias_not_summed_over_batch")
        ),
    ),
    Mistake(
        "missing_activation_derivative",
        "your δ misses f′(z)",
        "The recurrence is δ⁽ˡ⁾ = ((W⁽ˡ⁺¹⁾)ᵀ δ⁽ˡ⁺¹⁾) ⊙ f_ℓ′(z⁽ˡ⁾). Without ⊙ f′(z), "
        "gradients flow through dead ReLUs and ignore sigmoid/tanh saturation.",
        "Multiply W.T @ delta element-wise by f′(z⁽ˡ⁾) of the layer below before using it.",
        PITFALL_1,
        r.either(
            r.by_values("missing_activation_derivative"),
            r.by_derivative_probe("missing_activation_derivative"),
        ),
    ),
    Mistake(
        "activation_derivative_of_output",
        "your f′ is evaluated at a instead of z",
        "f′ must be evaluated at the pre-activation z⁽ˡ⁾, not at the output a⁽ˡ⁾ = f(z⁽ˡ⁾). "
        "f′(a) is a different number for sigmoid and tanh (it is invisible for ReLU).",
        "Cache z⁽ˡ⁾ in forward and pass it to f′; or write f′ in terms of a on purpose "
        "(σ′ = a(1 − a), tanh′ = 1 − a²) and then give it a.",
        OTHER + "using f′(a) instead of f′(z)",
        r.either(
            r.by_values("activation_derivative_of_output"),
            r.by_derivative_probe("activation_derivative_of_output"),
        ),
    ),
    Mistake(
        "wrong_activation_derivative",
        "your formula for f′ is wrong",
        "Each activation has its own derivative: ReLU′ = 1 for z > 0 else 0, σ′ = σ(z)(1 − σ(z)), "
        "tanh′ = 1 − tanh²(z), linear′ = 1. A slip in one of them (1 − z² for tanh′, or the "
        "derivative of another activation) changes every δ below that layer.",
        "Compare your f′ with the lesson's table, and check it against (f(z + ε) − f(z − ε)) / 2ε.",
        OTHER + "a wrong formula for one activation's f′ (the lesson's table of f and f′)",
        r.either(
            r.by_values("wrong_activation_derivative"),
            r.by_derivative_probe("wrong_activation_derivative"),
        ),
    ),
    Mistake(
        "wrong_layer_in_recurrence",
        "your recurrence uses W⁽ˡ⁾ where W⁽ˡ⁺¹⁾ belongs",
        "δ⁽ˡ⁾ = ((W⁽ˡ⁺¹⁾)ᵀ δ⁽ˡ⁺¹⁾) ⊙ f′(z⁽ˡ⁾): the error is sent back through the weights of "
        "the layer above, the ones that produced z⁽ˡ⁺¹⁾. Using the layer's own W⁽ˡ⁾ only fits "
        "square layers and gives wrong values there.",
        "In the loop at layer ℓ, compute the next δ with W of layer ℓ before moving to ℓ − 1.",
        OTHER + "using W⁽ˡ⁾ instead of W⁽ˡ⁺¹⁾ in the recurrence",
        r.by_values("wrong_layer_in_recurrence"),
    ),
    Mistake(
        "untransposed_weight_in_recurrence",
        "your recurrence multiplies by W where Wᵀ belongs",
        "W⁽ˡ⁺¹⁾ maps layer ℓ to layer ℓ + 1 (shape n_ℓ₊₁ × n_ℓ); the error goes the other way, "
        "through its transpose: δ⁽ˡ⁾ = ((W⁽ˡ⁺¹⁾)ᵀ δ⁽ˡ⁺¹⁾) ⊙ f′(z⁽ˡ⁾). Without the transpose "
        "the product fails with a shape error on non-square layers and gives wrong values on "
        "square ones.",
        "Use W.T @ delta in the recurrence.",
        OTHER + "using W⁽ˡ⁾ instead of W⁽ˡ⁺¹⁾ in the recurrence (and its transpose)",
        r.by_values("untransposed_weight_in_recurrence"),
    ),
    Mistake(
        "gradient_not_propagated",
        "your hidden layers get zero gradients",
        "Only the output layer's gradients are computed; the error is never sent back through "
        "the recurrence, so hidden layers keep zero (or stale) gradients and never learn.",
        "Run the recurrence δ⁽ˡ⁾ = ((W⁽ˡ⁺¹⁾)ᵀ δ⁽ˡ⁺¹⁾) ⊙ f′(z⁽ˡ⁾) down to layer 1 and "
        "compute every layer's dW and db from its δ.",
        OTHER + "hidden layers left with zero gradient",
        r.by_values("gradient_not_propagated"),
    ),
    Mistake(
        "update_before_propagation",
        "your W is updated before the recurrence reads it",
        "The recurrence must send δ down through the weights the forward pass used. Updating "
        "W ← W − η dW first (in place, inside the layer loop) and then computing "
        "(W⁽ˡ⁺¹⁾)ᵀ δ⁽ˡ⁺¹⁾ uses the new W: every hidden layer's gradient is off by an amount "
        "that grows with η (and vanishes as η → 0, so a tiny learning rate hides it).",
        "Compute every layer's dW and db first, then update all parameters after the backward pass.",
        OTHER + "updating W in place before the recurrence has read it",
        _fitted.update_before_propagation,
    ),
    Mistake(
        "scaled_gradient_tensor",
        "one gradient is a constant multiple of the true one",
        "Exactly one of your gradient tensors is a fixed factor times the lesson's, on every "
        "case, while all the others are right: a stray constant (a 2 left from a derivation, a "
        "½, a copied line) multiplies that one tensor.",
        "Look at the line that computes that gradient for a constant factor the lesson's "
        "formula does not have.",
        PITFALL_5,
        _fitted.scaled_gradient_tensor,
    ),
    Mistake(
        "wrong_gradient_shape",
        "a gradient does not have its parameter's shape",
        "Every dWℓ and dbℓ must have exactly the shape of Wℓ and bℓ: db is a column (n_ℓ, 1), "
        "not a flat (n_ℓ,) vector.",
        "Keep the axes: np.sum(delta, axis=1, keepdims=True); check dW.shape == W.shape.",
        "Example 3: ∂L/∂W = δ aᵀ has the same shape as W",
        r.either(r.by_values("wrong_gradient_shape"), r.by_shape("wrong_gradient_shape")),
    ),
    Mistake(
        "params_mutated",
        "your code changes params in place",
        "forward, backward or update wrote into the caller's parameter arrays (W -= …, or a "
        "shallow copy of the dict). The caller's network changes behind its back, and a "
        "recurrence that reads W after an in-place update uses the wrong weights.",
        "Compute into new arrays: new[name] = W - learning_rate * dW, never W -= ….",
        OTHER + "updating W in place before the recurrence has read it",
        r.params_mutated,
    ),
    Mistake(
        "inputs_mutated",
        "your code changes X or Y in place",
        "forward or backward wrote into the caller's X or Y (Y -= AL, A /= M where A is X). "
        "The caller's data is corrupted for every later call.",
        "Never use in-place operators on arrays you were given; write delta = AL - Y.",
        OTHER + "writing into the caller's arrays",
        r.inputs_mutated,
    ),
    Mistake(
        "gradient_accumulates_across_calls",
        "your gradients accumulate across calls",
        "Each backward() call adds to a running sum kept between calls (a module-level dict, a "
        "mutable default argument, a buffer on the class), so the second call returns the sum "
        "of both.",
        "Create the gradient dict and arrays afresh inside backward() on every call.",
        OTHER + "gradients that accumulate across calls",
        r.gradient_accumulates,
    ),
    Mistake(
        "numerical_differentiation",
        "your backward differentiates numerically instead of backpropagating",
        "Finite differences cost one or two forward passes per parameter, P + 1 or 2P in all; "
        "backprop gets every gradient in one forward and one backward pass, about 2–3 forward "
        "passes whatever P. Gradients computed numerically can be right, but it is not the "
        "algorithm the assignment asks for, and it does not scale.",
        "Implement the lesson's recurrence: δ⁽ᴸ⁾ from the loss, then δ⁽ˡ⁾ = ((W⁽ˡ⁺¹⁾)ᵀ δ⁽ˡ⁺¹⁾) "
        "⊙ f′(z⁽ˡ⁾) down to layer 1.",
        COST,
        r.numerical_differentiation,
    ),
    Mistake(
        "regularisation_gradient_missing",
        "your gradients leave out the derivative of the L2 penalty your loss adds",
        "With reg = λ the loss adds a penalty such as ½λ‖W‖², so the gradient of every penalised "
        "parameter must add the penalty's derivative, λW. Yours do not change with reg: they are "
        "the gradients of the loss without its penalty, and training does not regularise though "
        "the loss says it does.",
        "Add the penalty's derivative to each gradient of a parameter the loss penalises: "
        "grads['W1'] += reg * W1 for loss += 0.5 * reg * np.sum(W1 * W1).",
        L2,
        r.regularisation("regularisation_gradient_missing"),
    ),
    Mistake(
        "regularisation_gradient_doubled",
        "your gradients add twice the derivative of the L2 penalty your loss adds",
        "The derivative of ½λ‖W‖² is λW, and of λ‖W‖² it is 2λW. Yours is twice the derivative "
        "of the penalty your loss adds: the ½ of the loss is missing from the gradient, or the "
        "gradient term is added twice (in the layer's backward and again in the net's loss).",
        "Differentiate the penalty exactly as the loss writes it (0.5 * reg * np.sum(W * W) gives "
        "reg * W), and add it once.",
        L2,
        r.regularisation("regularisation_gradient_doubled"),
    ),
    Mistake(
        "regularisation_gradient_unmatched",
        "your gradients regularise parameters your loss does not penalise",
        "The gradients change with reg for parameters (often the biases) whose penalty the loss "
        "never adds: the gradient is then not the loss's gradient. Which parameters to penalise "
        "is the course's choice (CS231n: the weights only), but the loss and the gradient must "
        "make the same one; zero biases hide this, so it shows only with nonzero ones.",
        "Add reg · b to db only if the loss adds ½ · reg · ‖b‖² (CS231n: do neither).",
        L2,
        r.regularisation("regularisation_gradient_unmatched"),
    ),
)


@hookimpl
def bpcheck_mistakes() -> list[Mistake]:
    return list(BUILTIN_MISTAKES)
