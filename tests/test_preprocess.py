import numpy as np
import pytest
from sklearn.preprocessing import MinMaxScaler, StandardScaler

from tinynets.common.errors import DataError
from tinynets.preprocess import fit_scaler


@pytest.fixture
def rows() -> np.ndarray:
    rng = np.random.default_rng(1)
    return rng.normal(5, 3, (50, 4))


@pytest.mark.parametrize(("kind", "reference"), [("minmax", MinMaxScaler), ("standard", StandardScaler)])
def test_scalers_match_sklearn_and_fit_on_train_only(rows, kind, reference):
    train, test = rows[:40], rows[40:]
    scaler = fit_scaler(kind, train)
    expected = reference().fit(train)
    np.testing.assert_allclose(scaler.transform(test), expected.transform(test), rtol=1e-5, atol=1e-6)
    assert scaler.transform(test).dtype == np.float32


def test_constant_feature_is_left_unscaled_not_divided_by_zero():
    train = np.array([[1.0, 7.0], [3.0, 7.0]])
    assert np.isfinite(fit_scaler("minmax", train).transform(train)).all()
    assert np.isfinite(fit_scaler("standard", train).transform(train)).all()


def test_pixels_stay_uint8_and_record_the_1_over_255_scale():
    images = np.full((3, 28, 28), 255, dtype=np.uint8)
    scaler = fit_scaler("pixels", images)
    assert scaler.transform(images).dtype == np.uint8
    assert scaler.stats()["scale"] == [pytest.approx(1 / 255)]


def test_pixels_refuse_float_inputs():
    with pytest.raises(DataError, match="uint8"):
        fit_scaler("pixels", np.zeros((2, 4)))
