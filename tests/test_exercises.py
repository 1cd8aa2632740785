"""exercises.check: a right answer passes; each kind of wrong answer is named."""
import numpy as np
import pytest
import torch

from dlcourse import exercises, info


def distributions(g):
    return (torch.softmax(torch.randn(4, 6, generator=g, dtype=torch.float64), dim=1),)


def right(p):
    return -(p * p.log()).sum(dim=-1)


def test_a_right_answer_passes_on_values_and_gradients():
    verdict = exercises.check(right, info.entropy, distributions)
    assert verdict.ok and bool(verdict) and "values and gradients" in verdict.message
    assert repr(verdict).startswith("✓")


@pytest.mark.parametrize("student, words", [
    (lambda p: -(p * p.log()).sum(), "shape (), the library's (4,)"),
    (lambda p: -(p * p.log()).sum(-1).float(), "dtype torch.float32"),
    (lambda p: -(p * p.log2()).sum(-1), "differs at index (0,)"),
    (lambda p: torch.tensor(-(p.detach().numpy() * np.log(p.detach().numpy())).sum(-1)),
     "carries no gradient"),
    (lambda p: (-(p * p.log()).sum(-1)).tolist(), "is a list, the library's a Tensor"),
    (lambda p: p.nonexistent(), "raised AttributeError"),
])
def test_each_kind_of_wrong_answer_is_named(student, words):
    verdict = exercises.check(student, info.entropy, distributions)
    assert not verdict.ok and words in verdict.message, verdict.message
    assert verdict.message.startswith("trial 1 of 5")


def test_a_wrong_gradient_with_right_values_is_named():
    """The right values through a detached detour in one term: the gradient differs."""
    def sneaky(p):
        return -(p * p.detach().log()).sum(-1)
    verdict = exercises.check(sneaky, info.entropy, distributions)
    assert not verdict.ok and "gradient with respect to argument 1" in verdict.message


def test_tuple_outputs_are_compared_element_by_element():
    def reference(x):
        return x * 2, x.sum()

    def student(x):
        return x * 2, x.sum() + 1
    inputs = lambda g: torch.randn(3, generator=g)  # noqa: E731  (a lone tensor is one argument)
    verdict = exercises.check(student, reference, inputs)
    assert not verdict.ok and "your output[1] differs" in verdict.message
    assert exercises.check(reference, reference, inputs).ok


def test_inputs_are_not_shared_between_the_two_calls():
    def in_place(x):
        x.mul_(0)
        return x.sum()
    verdict = exercises.check(lambda x: x.detach().sum(), lambda x: x.sum(),
                              lambda g: (torch.randn(3, generator=g),), gradients=False)
    assert verdict.ok
    verdict = exercises.check(lambda x: in_place(x.detach().clone()) + x.sum(),
                              lambda x: x.sum(), lambda g: (torch.randn(3, generator=g),))
    assert verdict.ok


def test_dict_outputs_are_compared_key_by_key():
    def reference(x):
        return {"loss": x.sum() + x.prod(), "part": x.prod()}

    inputs = lambda g: torch.randn(3, generator=g)  # noqa: E731
    assert exercises.check(reference, reference, inputs).ok
    verdict = exercises.check(lambda x: {"loss": x.sum(), "part": x.prod()}, reference, inputs)
    assert not verdict.ok and "your output['loss'] differs" in verdict.message
    verdict = exercises.check(lambda x: {"loss": x.sum()}, reference, inputs)
    assert not verdict.ok and "keys ['loss', 'part']" in verdict.message


def test_a_generator_reaches_both_functions_in_the_same_state():
    """A reparameterised sample drawn the library's way matches; drawn the other way, it does not."""
    def reference(mu, g):
        return mu + torch.randn(mu.shape, generator=g, dtype=mu.dtype)

    def student(mu, g):
        return mu + torch.randn(mu.shape, generator=g, dtype=mu.dtype)

    def two_draws(mu, g):
        torch.randn(1, generator=g)
        return student(mu, g)
    inputs = lambda g: (torch.randn(5, generator=g), torch.Generator().manual_seed(3))  # noqa: E731
    assert exercises.check(student, reference, inputs).ok
    assert not exercises.check(two_draws, reference, inputs).ok


@pytest.mark.parametrize("kwargs, name", [({"student": 3}, "student"), ({"reference": None}, "reference"),
                                          ({"inputs": (1,)}, "inputs"), ({"trials": 0}, "trials"),
                                          ({"rtol": -1.0}, "rtol")])
def test_bad_arguments_name_themselves(kwargs, name):
    call = {"student": right, "reference": info.entropy, "inputs": distributions, **kwargs}
    with pytest.raises(ValueError, match=name):
        exercises.check(call.pop("student"), call.pop("reference"), call.pop("inputs"), **call)
