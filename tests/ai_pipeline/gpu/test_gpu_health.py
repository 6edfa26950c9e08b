"""``/api/health`` gpu block: the GPU NVML reports (or, without one, why not) and the ledger."""

from __future__ import annotations

from fastapi import FastAPI
from fastapi.testclient import TestClient

from ai_pipeline.gpu import gpu_manager
from ai_pipeline.gpu.nvml import gpu_info
from ai_pipeline.runner import Pipeline
from ai_pipeline.settings import Settings
from backend.routes.health import router
from backend.runtime import Runtime
from tests.ai_pipeline.gpu.test_memory import SizedModel
from tests.devices import cuda_available


def test_nvml_reports_the_gpu_or_why_not():
    info = gpu_info()
    if cuda_available():
        assert info["available"] is True and info["name"] and info["total_mb"] > 0
        assert 0 <= info["used_mb"] <= info["total_mb"]
    else:  # no driver: NVML fails cleanly, nothing raised
        assert info["available"] is False and info["reason"]


def test_health_gpu_block(tmp_path):
    settings = Settings(data_dir=tmp_path, enhance={"model": "animevideov3-x2"})
    pipeline = Pipeline(settings)
    pipeline.load(stages=("talking_head",))
    app = FastAPI()
    app.include_router(router)
    app.state.runtime = Runtime(settings, pipeline=pipeline)
    slot = gpu_manager().register("test-engine", SizedModel("test-engine", []), 1500)
    try:
        with slot.use(), TestClient(app) as client:
            body = client.get("/api/health").json()
    finally:
        gpu_manager().unregister("test-engine")
        pipeline.close()
    gpu = body["gpu"]
    if cuda_available():
        assert gpu["available"] is True and gpu["device"] == "cuda:0" and gpu["total_mb"] > 0
    else:
        assert gpu["available"] is False and "NVML" in gpu["reason"] and gpu["device"] == "cpu"
    assert gpu["budget_mb"] == 12288
    assert gpu["accounted_mb"] >= 1500
    engine = next(e for e in gpu["engines"] if e["name"] == "test-engine")
    assert engine["loaded"] and engine["in_use"] and engine["reserved_mb"] == 1500
    assert body["engines"]["enhance"]["engine"] == "realesrgan_ncnn"
    assert "realesrgan_ncnn" in body["available_engines"]["enhance"]
