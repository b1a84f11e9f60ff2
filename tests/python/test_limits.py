"""The bounds on one input, seen and set from Python (docs/bad_inputs.md, "Limits")."""
import pytest

import whitebox


def test_a_lowered_pixel_limit_refuses_an_image_from_its_header_and_can_be_raised_again():
    before = whitebox.limits()
    assert before["image_pixels"] == 2 ** 27
    photo = whitebox._core.bundled_path("images/cat.bmp")
    whitebox.set_limits(image_pixels=1000)
    try:
        assert whitebox.limits()["image_pixels"] == 1000
        with pytest.raises(ValueError, match="cat.bmp.*WHITEBOX_MAX_IMAGE_PIXELS"):
            whitebox.read_image(photo)
    finally:
        whitebox.set_limits(**before)
    assert whitebox.read_image(photo).ndim == 3
    with pytest.raises(ValueError, match="image_pixels"):
        whitebox.set_limits(pixels=5)
    with pytest.raises(TypeError, match="file_bytes"):
        whitebox.set_limits(file_bytes="a lot")
