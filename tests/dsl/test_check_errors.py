"""Checker errors: one test per kind, each asserting the error class, the line and column
of the offending expression, and what the message tells the user to change."""
from __future__ import annotations

import pytest

from ddc import DDError, DDNameError, DDTypeError, TransformError
from ddc.dsl import loads

from .util import error_of


def test_undefined_name_suggests_the_closest_name():
    err = error_of("def f(weights: f32[n]) -> f32[n]:\n    return relu(weigths)\n", DDNameError)
    assert (err.line, err.col) == (2, 17)
    assert "undefined name 'weigths'" in err.message and "did you mean 'weights'?" in err.message


def test_undefined_function_suggests_a_builtin():
    err = error_of("def f(x: f32[n]) -> f32[n]:\n    return sigmod(x)\n", DDNameError)
    assert (err.line, err.col) == (2, 12) and "did you mean 'sigmoid'?" in err.message


def test_builtin_arity():
    err = error_of("def f(x: f32[n]) -> f32[n]:\n    return exp(x, x)\n", DDTypeError)
    assert (err.line, err.col) == (2, 12) and "exp() takes 1 arguments (x), got 2" in err.message


def test_builtin_missing_argument():
    err = error_of("def f(x: f32[n]) -> f32[n]:\n    return maximum(x)\n", DDTypeError)
    assert (err.line, err.col) == (2, 12) and "missing the argument 'y'" in err.message


def test_unknown_keyword_suggests_the_parameter():
    err = error_of("def f(x: f32[n, d]) -> f32[n]:\n    return sum(x, axes=1)\n", DDTypeError)
    assert (err.line, err.col) == (2, 19)
    assert "sum() has no parameter 'axes'" in err.message and "did you mean 'axis'?" in err.message


def test_user_function_arity():
    source = "def g(a: f32, b: f32) -> f32:\n    return a * b\n\ndef f(x: f32) -> f32:\n    return g(x, x, x)\n"
    err = error_of(source, DDTypeError)
    assert (err.line, err.col) == (5, 12) and "g() takes 2 arguments (a, b), got 3" in err.message
    err = error_of(source.replace("g(x, x, x)", "g(x)"), DDTypeError)
    assert (err.line, err.col) == (5, 12) and "g() is missing the argument 'b'" in err.message


def test_dtype_of_an_argument_to_a_user_function():
    source = "def g(a: f32[n]) -> f32[n]:\n    return a\n\ndef f(x: f64[n]) -> f32[n]:\n    return g(x)\n"
    err = error_of(source, DDTypeError)
    assert (err.line, err.col) == (5, 14)
    assert "argument 'a' of g must be f32[n], got f64[n]" in err.message and "astype" in err.hint


def test_float_parameters_bind_one_dtype():
    source = ("def g(a: float[n], b: float[n]) -> float[n]:\n    return a + b\n\n"
              "def f(x: f32[n], y: f64[n]) -> f64[n]:\n    return g(x, y)\n")
    err = error_of(source, DDTypeError)
    assert (err.line, err.col) == (5, 17) and "every float in a signature is one dtype" in err.message


def test_dtype_error_in_an_operator():
    err = error_of("def f(m: bool[n]) -> bool[n]:\n    return m + m\n", DDTypeError)
    assert (err.line, err.col) == (2, 12) and "'+' is not defined on bool" in err.message


def test_dtype_error_in_a_builtin_argument():
    err = error_of("def f(x: f32[n]) -> f32[n]:\n    return where(x, x, 0.0)\n", DDTypeError)
    assert (err.line, err.col) == (2, 18) and "where needs a bool condition" in err.message


def test_integer_power_needs_a_float():
    err = error_of("def f(k: i32[n]) -> i32[n]:\n    return k ** 2\n", DDTypeError)
    assert (err.line, err.col) == (2, 12) and "** needs a float operand" in err.message


def test_an_integer_constant_must_fit_the_dtype():
    err = error_of("def f(k: i32[n]) -> i32[n]:\n    return k * 3000000000\n", DDTypeError)
    assert (err.line, err.col) == (2, 12) and "the constant 3000000000 does not fit i32" in err.message


def test_broadcast_error_names_both_shapes_and_dims():
    err = error_of("def f(x: f32[b, d], y: f32[h]) -> f32[b, d]:\n    return x + y\n", DDTypeError)
    assert (err.line, err.col) == (2, 12)
    assert "[b,d] and [h] do not broadcast: dim d vs h" in err.message


def test_matmul_error_names_both_shapes_and_the_contracted_dims():
    err = error_of("def f(x: f32[n, d], W: f32[k, m]) -> f32[n, m]:\n    return x @ W\n", DDTypeError)
    assert (err.line, err.col) == (2, 12)
    assert "f32[n,d] @ f32[k,m]" in err.message and "d (last of the left) and k" in err.message


def test_return_shape_differs_from_the_signature():
    err = error_of("def f(x: f32[n, d]) -> f32[n]:\n    y = x * 2\n    return y\n", DDTypeError)
    assert (err.line, err.col) == (3, 12)
    assert "f returns f32[n,d], but its signature declares f32[n]" in err.message


def test_return_dtype_differs_from_the_signature():
    err = error_of("def f(x: float[n]) -> f32[n]:\n    return x\n", DDTypeError)
    assert (err.line, err.col) == (2, 12)
    assert "returns float[n], but its signature declares f32[n]" in err.message and "astype" in err.hint


def test_return_count_differs_from_the_signature():
    err = error_of("def f(x: f32) -> (f32, f32):\n    return x\n", DDTypeError)
    assert (err.line, err.col) == (2, 12) and "declares (f32, f32)" in err.message


def test_return_dim_must_come_from_a_parameter():
    err = error_of("def f(x: f32[n]) -> f32[m]:\n    return x\n", DDTypeError)
    assert (err.line, err.col) == (1, 21) and "dim 'm' of the return type" in err.message


def test_a_return_type_of_computed_dims_must_match_what_the_body_makes():
    err = error_of("def f(x: f32[n]) -> f32[n - 2]:\n    return x[1:]\n", DDTypeError)
    assert (err.line, err.col) == (2, 12)
    assert "f returns f32[n-1], but its signature declares f32[n-2]" in err.message


def test_a_parameter_dim_cannot_be_an_expression():
    err = error_of("def f(x: f32[n], y: f32[n - 1]) -> f32[n]:\n    return x\n", DDTypeError)
    assert (err.line, err.col) == (1, 18)
    assert "parameter 'y' has the dim n-1" in err.message and "belong in the return type" in err.hint


def test_user_call_dims_unify_across_arguments():
    source = ("def g(a: f32[n, d], b: f32[d]) -> f32[n]:\n    return a @ b\n\n"
              "def f(x: f32[b, k], y: f32[m]) -> f32[b]:\n    return g(x, y)\n")
    err = error_of(source, DDTypeError)
    assert (err.line, err.col) == (5, 17)
    assert "argument 'b' of g must be f32[d], got f32[m]: dim d = m, but an earlier argument bound d = k" in err.message


def test_unpacking_a_single_value():
    err = error_of("def f(x: f32[n]) -> f32[n]:\n    a, b = x\n    return a\n", DDTypeError)
    assert (err.line, err.col) == (2, 5) and "cannot unpack f32[n] into 2 names" in err.message


def test_axis_out_of_range_points_at_the_axis():
    err = error_of("def f(x: f32[n]) -> f32:\n    return sum(x, axis=1)\n", DDTypeError)
    assert (err.line, err.col) == (2, 24) and "axis 1 is out of range for a tensor of rank 1" in err.message


def test_axis_must_be_a_constant():
    err = error_of("def f(x: f32[n], k: i32) -> f32:\n    return sum(x, axis=k)\n", DDTypeError)
    assert (err.line, err.col) == (2, 24) and "must be a constant" in err.message


def test_index_out_of_range_on_a_static_dim():
    err = error_of("def f(x: f32[3]) -> f32:\n    return x[3]\n", DDTypeError)
    assert (err.line, err.col) == (2, 12) and "index 3 is out of range for a dim of size 3" in err.message


def test_strided_slice_of_a_symbolic_dim():
    err = error_of("def f(x: f32[n]) -> f32[n]:\n    return x[::2]\n", DDTypeError)
    assert (err.line, err.col) == (2, 12) and "step 2 needs a known length" in err.message


def test_tensors_have_only_the_T_attribute():
    err = error_of("def f(x: f32[n]) -> f32[n]:\n    return x.shape\n", DDTypeError)
    assert (err.line, err.col) == (2, 12) and "has no attribute 'shape'" in err.message


def test_recursion_is_an_error():
    source = ("def f(x: f32) -> f32:\n    return g(x)\n\n"
              "def g(x: f32) -> f32:\n    return 2 * f(x)\n")
    err = error_of(source, DDTypeError)
    assert (err.line, err.col) == (5, 16) and "recursive call: f -> g -> f" in err.message


def test_direct_recursion_through_a_transform_is_an_error():
    err = error_of("def f(x: f32) -> f32:\n    return grad(f)(x)\n", DDTypeError)
    assert (err.line, err.col) == (2, 12) and "recursive call: f -> f" in err.message


def test_duplicate_function_and_parameter():
    err = error_of("def f(x: f32) -> f32:\n    return x\n\ndef f(x: f32) -> f32:\n    return x\n", DDNameError)
    assert (err.line, err.col) == (4, 1) and "defined twice (first at line 1)" in err.message
    err = error_of("def f(x: f32, x: f32) -> f32:\n    return x\n", DDNameError)
    assert (err.line, err.col) == (1, 15) and "'x' is listed twice" in err.message


def test_calling_something_that_is_not_a_function():
    err = error_of("def f(x: f32) -> f32:\n    return x(1)\n", DDTypeError)
    assert (err.line, err.col) == (2, 12) and "f32 is not a function" in err.message


def test_a_builtin_is_not_a_value():
    err = error_of("def f(x: f32) -> f32:\n    g = exp\n    return x\n", DDTypeError)
    assert (err.line, err.col) == (2, 9) and "exp is a builtin" in err.message


# -- transforms --------------------------------------------------------------------------------------

SQUARES = "def sq(v: f32[n], k: i32) -> f32:\n    return sum(v * v)\n\ndef vec(v: f32[n]) -> f32[n]:\n    return v * v\n\n"


def test_grad_of_a_non_scalar_output():
    err = error_of(SQUARES + "def f(x: f32[n]) -> f32[n]:\n    return grad(vec)(x)\n", TransformError)
    assert (err.line, err.col) == (8, 12) and "grad: vec returns f32[n]; it needs a scalar float output" in err.message


def test_grad_with_respect_to_an_integer_argument():
    err = error_of(SQUARES + "def f(x: f32[n], k: i32) -> i32:\n    return grad(sq, argnums=1)(x, k)\n", TransformError)
    assert (err.line, err.col) == (8, 35) and "only float arguments have gradients" in err.message


def test_grad_argnums_out_of_range():
    err = error_of(SQUARES + "def f(x: f32[n], k: i32) -> f32[n]:\n    return grad(sq, argnums=2)(x, k)\n", TransformError)
    assert (err.line, err.col) == (8, 12) and "argnums 2 is out of range: sq takes 2 arguments" in err.message


def test_grad_of_a_builtin():
    err = error_of("def f(x: f32) -> f32:\n    return grad(exp)(x)\n", DDError)
    assert (err.line, err.col) == (2, 17) and "exp is a builtin" in err.message


def test_vmap_sizes_differ():
    source = SQUARES + "def f(xs: f32[b, n], ys: f32[c, n]) -> f32[b, n]:\n    return vmap(vec)(xs) * vmap(vec, in_axes=(0,))(ys)\n"
    err = error_of(source, DDTypeError)
    assert "[b,n] and [c,n] do not broadcast" in err.message
    source = SQUARES + "def f(xs: f32[b, n], k: i32[c]) -> f32[b]:\n    return vmap(sq, in_axes=(0, 0))(xs, k)\n"
    err = error_of(source, TransformError)
    assert (err.line, err.col) == (8, 41) and "argument 1 has size c on its mapped axis, but argument 0 has size b" in err.message


def test_vmap_needs_a_mapped_argument_and_matching_in_axes():
    err = error_of(SQUARES + "def f(x: f32[n]) -> f32[n]:\n    return vmap(vec, in_axes=None)(x)\n", TransformError)
    assert (err.line, err.col) == (8, 12) and "at least one mapped argument" in err.message
    err = error_of(SQUARES + "def f(x: f32[n]) -> f32[n]:\n    return vmap(vec, in_axes=(0, 0))(x)\n", TransformError)
    assert (err.line, err.col) == (8, 12) and "in_axes has 2 entries for 1 arguments" in err.message
    err = error_of(SQUARES + "def f(x: f32) -> f32:\n    return vmap(vec)(x)\n", TransformError)
    assert (err.line, err.col) == (8, 22) and "out of range: the batched tensor has rank 0" in err.message


def test_transform_options_must_be_constants():
    err = error_of(SQUARES + "def f(x: f32[n], k: i32) -> f32[n]:\n    return grad(sq, argnums=k)(x, k)\n", TransformError)
    assert (err.line, err.col) == (8, 29) and "argnums of grad must be a constant" in err.message


def test_errors_are_ddc_errors_with_a_readable_message():
    with pytest.raises(DDError) as info:
        loads("def f(x: f32[n, d]) -> f32[n]:\n    return sum(x, axis=2)\n", name="model")
    lines = str(info.value).splitlines()
    assert lines[0].startswith("model:2:24: type error: axis 2 is out of range")
    assert lines[1].endswith("return sum(x, axis=2)") and lines[2].strip() == "^"
