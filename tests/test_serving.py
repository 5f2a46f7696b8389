"""The model server: every endpoint against the estimator, every bad request a clear 4xx."""

import io
import json

import numpy as np
import pytest
import schemathesis
from fastapi.testclient import TestClient
from hypothesis import HealthCheck, given, settings
from PIL import Image
from schemathesis import GenerationMode
from schemathesis.checks import not_a_server_error

from autoencoders import AutoEncoder, VariationalAutoEncoder, estimator_for, load
from autoencoders.cli import main
from autoencoders.data import load_dataset
from autoencoders.runs import train_run
from autoencoders.serving.server import build_app
from autoencoders.serving.service import Limits
from tests.conftest import curved_table

pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning")


def small_run(out, model="dense"):
    """A quick model with a 2-D code, saved as `autoencoders train` saves it."""
    train = load_dataset("digits", "train", limit=400)
    test = load_dataset("digits", "test", limit=200)
    settings = {"activation": "tanh"} if model == "dense" else {"hidden": (32,)}
    estimator = estimator_for(
        model, latent_dim=2, epochs=30, batch_size=64, random_state=0, **settings
    )
    return train_run(estimator, train, out, test=test).path


@pytest.fixture(scope="module")
def run(tmp_path_factory):
    return small_run(tmp_path_factory.mktemp("serve") / "run")


@pytest.fixture(scope="module")
def vae_run(tmp_path_factory):
    return small_run(tmp_path_factory.mktemp("serve") / "vae", model="vae")


@pytest.fixture(scope="module")
def estimator(run):
    return load(run)


@pytest.fixture(scope="module")
def client(run):
    return TestClient(build_app(run, limits=Limits(max_batch=16, max_request_bytes=200_000)))


def png(pixels01: np.ndarray) -> bytes:
    """A gray (H, W) image in [0, 1] as PNG bytes."""
    buffer = io.BytesIO()
    Image.fromarray(np.rint(pixels01 * 255).astype(np.uint8)).save(buffer, format="PNG")
    return buffer.getvalue()


def test_health_describes_the_model(client):
    health = client.get("/health").json()
    assert health["status"] == "ok"
    assert health["input_shape"] == [1, 8, 8] and health["code_size"] == 2
    assert health["variational"] is False
    assert health["threshold_source"].startswith("99th percentile of the scores of digits")


def test_json_endpoints_give_what_the_estimator_gives(client, estimator, digits):
    X = digits[1].X[:5]
    codes = client.post("/encode", json={"inputs": X.tolist()}).json()["codes"]
    np.testing.assert_allclose(codes, estimator.transform(X), atol=1e-6)
    flat = client.post("/encode", json={"inputs": X.reshape(5, -1).tolist()}).json()["codes"]
    assert flat == codes  # a flat sample is read in the input's row-major order
    decoded = client.post("/decode", json={"codes": codes}).json()["outputs"]
    np.testing.assert_allclose(decoded, estimator.inverse_transform(np.array(codes)), atol=1e-6)
    outputs = client.post("/reconstruct", json={"inputs": X.tolist()}).json()["outputs"]
    np.testing.assert_allclose(outputs, estimator.predict(X), atol=1e-6)


def test_scores_and_the_calibrated_threshold(client, estimator, digits):
    X = digits[1].X[:10]
    answer = client.post("/score", json={"inputs": X.tolist()}).json()
    np.testing.assert_allclose(answer["scores"], -estimator.score_samples(X), rtol=1e-6)
    train = load_dataset("digits", "train").X
    expected = np.quantile(-estimator.score_samples(train), 0.99)
    assert answer["threshold"] == pytest.approx(expected)
    assert answer["anomalous"] == [s > expected for s in answer["scores"]]
    noise = np.random.default_rng(0).uniform(0, 1, (3, 1, 8, 8))
    assert all(client.post("/score", json={"inputs": noise.tolist()}).json()["anomalous"])


def test_png_in_and_out(client, estimator, digits):
    image = digits[1].X[0, 0]
    body = png(image)
    as_png = client.post(
        "/reconstruct?format=png", content=body, headers={"content-type": "image/png"}
    )
    assert as_png.status_code == 200 and as_png.headers["content-type"] == "image/png"
    returned = np.asarray(Image.open(io.BytesIO(as_png.content))) / 255
    expected = estimator.predict(np.rint(image * 255)[None, None] / 255)[0, 0]
    assert np.abs(returned - expected).max() <= 0.5 / 255 + 1e-6
    upload = [("images", (f"{i}.png", png(digits[1].X[i, 0]), "image/png")) for i in range(3)]
    codes = client.post("/encode", files=upload).json()["codes"]
    assert np.array(codes).shape == (3, 2)
    strip = client.post("/decode?format=png", json={"codes": codes})
    assert Image.open(io.BytesIO(strip.content)).size == (3 * 8, 8)  # a row of 3 images


def bad(client, path, expected_status, fragment, **request):
    response = client.post(path, **request)
    assert response.status_code == expected_status, response.text
    detail = response.json()["detail"]
    assert isinstance(detail, str) and "\n" not in detail and fragment in detail, detail


PNG = "image/png"


def raw(body: bytes, content_type: str = "application/json") -> dict:
    return {"content": body, "headers": {"content-type": content_type}}


@pytest.mark.parametrize(
    "path, status, fragment, request_",
    [
        ("/encode", 422, "takes (1, 8, 8)", {"json": {"inputs": [[1, 2, 3]]}}),
        ("/encode", 422, "different shapes", {"json": {"inputs": [[0] * 64, [0] * 63]}}),
        ("/encode", 422, "inputs[0][1]: Input should be a valid", {"json": {"inputs": [[0, "a"]]}}),
        ("/encode", 422, "finite number", raw(b'{"inputs": [[NaN]]}')),
        ("/encode", 422, "between -1e+09 and 1e+09", {"json": {"inputs": [[1e39] * 64]}}),
        ("/decode", 422, "between -1e+09 and 1e+09", {"json": {"codes": [[0, 1e9 + 1]]}}),
        ("/encode", 422, "at least 1", {"json": {"inputs": []}}),
        ("/encode", 422, "Invalid JSON", raw(b"{")),
        ("/encode", 422, "Extra inputs", {"json": {"inputs": [[0] * 64], "x": 1}}),
        ("/encode", 422, "at most 16", {"json": {"inputs": [[0] * 64] * 17}}),
        ("/encode", 413, "over 200000 bytes", raw(b" " * 200_001)),
        ("/encode", 415, "content type 'text/plain'", raw(b"1", "text/plain")),
        ("/encode", 422, "not a readable PNG", raw(b"\x89PNG\r\n", PNG)),
        ("/encode", 422, "is 9×8 pixels; this model takes 8×8", raw(png(np.ones((8, 9))), PNG)),
        ("/encode", 422, "field 'images'", {"files": [("other", ("a.png", b"x", "image/png"))]}),
        ("/decode", 422, "takes (2,)", {"json": {"codes": [[0, 0, 0]]}}),
        ("/decode", 415, "use application/json", raw(png(np.zeros((8, 8))), PNG)),
        ("/decode?format=gif", 422, "format: Input should be 'json'", {"json": {"codes": [[0]]}}),
        ("/sample", 400, "not variational", {"json": {"n": 2}}),
        ("/sample", 422, "n: Input should be greater than or equal to 1", {"json": {"n": 0}}),
    ],
)  # fmt: skip
def test_bad_requests_get_a_clear_4xx(client, path, status, fragment, request_):
    bad(client, path, status, fragment, **request_)


def test_a_chunked_body_is_cut_off_at_the_limit(client):
    chunks = (b" " * 50_000 for _ in range(10))  # no Content-Length: counted as it arrives
    bad(client, "/encode", 413, "over 200000 bytes", **raw(chunks))


def test_a_decompression_bomb_is_refused(run):
    buffer = io.BytesIO()
    Image.new("L", (20_000, 20_000)).save(buffer, format="PNG")  # 400 MB of pixels, 0.4 MB
    bad(TestClient(build_app(run)), "/encode", 422, "not a readable PNG",
        **raw(buffer.getvalue(), PNG))  # fmt: skip


def test_a_variational_model_samples(vae_run):
    client = TestClient(build_app(vae_run))
    assert client.get("/health").json()["variational"] is True
    drawn = client.post("/sample", json={"n": 3, "seed": 7}).json()["outputs"]
    np.testing.assert_allclose(
        drawn, VariationalAutoEncoder.load(vae_run).sample(3, random_state=7), atol=1e-6
    )
    strip = client.post("/sample?format=png", json={"n": 4})
    assert Image.open(io.BytesIO(strip.content)).size == (4 * 8, 8)
    bad(client, "/sample", 422, "at most 256", json={"n": 257})


def test_an_explicit_threshold_wins(run):
    health = TestClient(build_app(run, threshold=2.0)).get("/health").json()
    assert health["threshold"] == 2.0 and health["threshold_source"] == "given with --threshold"


def test_a_saved_anomaly_detector_scores_and_flags(digits, tmp_path):
    anomaly = pytest.importorskip("autoencoders.applications.anomaly")
    train, test = digits
    model = AutoEncoder("dense", latent_dim=4, epochs=20, batch_size=64, random_state=0)
    detector = anomaly.AnomalyDetector(model, contamination=0.1, anomaly_score="mse").fit(
        train.X[:400]
    )
    detector.save(tmp_path / "detector")
    client = TestClient(build_app(tmp_path / "detector", data="digits"))
    health = client.get("/health").json()
    assert health["threshold"] == pytest.approx(detector.threshold_)
    assert "AnomalyDetector" in health["threshold_source"]
    answer = client.post("/score", json={"inputs": test.X[:20].tolist()}).json()
    np.testing.assert_allclose(answer["scores"], -detector.score_samples(test.X[:20]), rtol=1e-6)
    assert answer["anomalous"] == (detector.predict(test.X[:20]) == -1).tolist()


def test_sample_is_documented_only_for_variational_models(client):
    assert "/sample" not in client.get("/openapi.json").json()["paths"]


def test_the_explorer_page_is_served_live(client):
    page = client.get("/")
    assert page.status_code == 200 and page.headers["content-type"].startswith("text/html")
    start = page.text.index('type="application/json">') + len('type="application/json">')
    data = json.loads(page.text[start : page.text.index("</script>", start)])
    assert data["live"] is True and len(data["points"]) == 360 and data["plane"]["exact"]


def test_a_table_model_serves_the_api_and_explains_the_missing_explorer(tmp_path):
    X = curved_table(200)
    np.save(tmp_path / "table.npy", X)
    model = AutoEncoder("dense", hidden=(8,), latent_dim=2, epochs=5, random_state=0).fit(X)
    model.save(tmp_path / "run")
    client = TestClient(build_app(tmp_path / "run", data=str(tmp_path / "table.npy")))
    assert "No explorer" in client.get("/").text
    codes = client.post("/encode", json={"inputs": X[:4].tolist()}).json()["codes"]
    np.testing.assert_allclose(codes, model.transform(X[:4]), rtol=1e-5, atol=1e-6)
    bad(client, "/encode", 422, "not images", **raw(png(np.zeros((8, 8))), PNG))
    bad(client, "/decode?format=png", 422, "not images", json={"codes": codes})


def test_serve_and_explorer_commands_fail_in_one_line(tmp_path, capsys):
    for command in (["serve", str(tmp_path / "missing")], ["explorer", str(tmp_path)]):
        with pytest.raises(SystemExit) as exit_:
            main(command)
        err = capsys.readouterr().err
        assert exit_.value.code == 2 and err.startswith("autoencoders: error:"), err
        assert len(err.strip().splitlines()) == 1


def test_explorer_command_writes_a_static_page(run, capsys):
    main(["explorer", str(run)])
    page = (run / "explorer.html").read_text()
    assert '"live":false' in page and "https://" not in page  # works offline: nothing fetched
    assert "wrote" in capsys.readouterr().out


# ------------------------------------------------------------------ schemathesis
@pytest.mark.parametrize("mode", [GenerationMode.POSITIVE, GenerationMode.NEGATIVE])
def test_no_request_generated_from_the_schema_gets_a_5xx(vae_run, mode):
    """Schemathesis: valid and invalid requests by the OpenAPI schema, none answered 5xx."""
    app = build_app(vae_run, limits=Limits(max_batch=16, max_request_bytes=200_000))
    schema = schemathesis.openapi.from_asgi("/openapi.json", app)
    operations = [result.ok() for result in schema.get_all_operations()]
    assert len(operations) == 6  # health, encode, decode, reconstruct, score, sample

    for operation in operations:
        if mode == GenerationMode.NEGATIVE and operation.path == "/health":
            continue  # no parameters and no body: nothing to get wrong

        @settings(max_examples=25, deadline=None, database=None,
                  suppress_health_check=list(HealthCheck))  # fmt: skip
        @given(case=operation.as_strategy(generation_mode=mode))
        def check(case):
            case.call_and_validate(checks=[not_a_server_error])

        check()


def test_a_background_server_that_cannot_start_says_why(tmp_path):
    from autoencoders.serving.background import serve_in_background

    starting = serve_in_background(tmp_path / "no-such-run", timeout=60)
    with pytest.raises(RuntimeError, match=r"stopped with exit code 2: .*no-such-run"), starting:
        pass


def test_the_explorer_works_on_a_photo_model_with_a_spatial_code(tmp_path):
    from tests.test_photos import smooth_images

    photos = smooth_images(60, channels=3, size=16)
    np.save(tmp_path / "photos.npy", photos)
    estimator = AutoEncoder("resnet", filters=(8, 16), code_channels=2, epochs=2, random_state=0)
    run = train_run(estimator, load_dataset(tmp_path / "photos.npy"), tmp_path / "run").path
    client = TestClient(build_app(run, data=str(tmp_path / "photos.npy")))
    page = client.get("/").text
    start = page.index('type="application/json">') + len('type="application/json">')
    data = json.loads(page[start : page.index("</script>", start)])
    assert data["image_shape"] == [3, 16, 16] and len(data["points"]) == 60
    origin, axes = np.array(data["plane"]["origin"]), np.array(data["plane"]["axes"])
    assert origin.shape == (2 * 4 * 4,) and axes.shape == (2, 32)  # the 2×4×4 code, flat
    clicked = (origin + np.array([0.5, -0.5]) @ axes)[None]  # a click on the plane
    decoded = client.post("/decode", json={"codes": clicked.tolist()})
    assert decoded.status_code == 200, decoded.text
    image = np.array(decoded.json()["outputs"])
    assert image.shape == (1, 3, 16, 16) and 0 <= image.min() <= image.max() <= 1
    png_reply = client.post("/decode?format=png", json={"codes": clicked.tolist()})
    assert Image.open(io.BytesIO(png_reply.content)).size == (16, 16)
