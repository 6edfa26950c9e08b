"""The voice store on a real folder: versions, lookups, limits, atomic writes under concurrency."""

from __future__ import annotations

import json
import multiprocessing
import os
import time
import wave
from pathlib import Path

import numpy as np
import pytest

from ai_pipeline.errors import InputError, InputTooLarge
from ai_pipeline.settings import LimitSettings
from ai_pipeline.voice.base import MIN_SECONDS, PREPARED_RATE, VoiceReport
from ai_pipeline.voice.enroll import Enroller
from ai_pipeline.voice.store import VoiceNotFound, VoiceRejected, VoiceStore
from tests.voice_samples import ASR_CLIPS, RATE, chords, encode, festival_speech, wav_bytes, white_noise


@pytest.fixture(scope="module")
def enroller() -> Enroller:
    return Enroller()


@pytest.fixture
def store(tmp_path, enroller) -> VoiceStore:
    return VoiceStore(tmp_path / "voices", enroller=enroller)


@pytest.fixture(scope="module")
def halves() -> tuple[bytes, bytes]:
    """Two recordings of about 20-25 s of speech each: one is not enough, both are."""
    speech = festival_speech(12)
    cut = speech.size // 2
    return wav_bytes(speech[:cut]), wav_bytes(speech[cut:])


def _wav_info(path: Path) -> tuple[int, int, int, float]:
    with wave.open(str(path), "rb") as w:
        return w.getnchannels(), w.getsampwidth(), w.getframerate(), w.getnframes() / w.getframerate()


def test_create_writes_the_documented_layout(store, halves, tmp_path):
    mp3 = encode(festival_speech(12), "mp3", tmp_path)
    files = [("анна.mp3", mp3.read_bytes()), ("noise.wav", wav_bytes(white_noise(3)))]
    voice, report = store.create("  Анна   Петровна ", files)
    assert len(voice.id) == 12 and all(c in "0123456789abcdef" for c in voice.id)
    assert voice.name == "Анна Петровна" and voice.version == 1
    assert voice.folder == store.root / voice.id / "v1"
    assert [f.accepted for f in report.files] == [True, False] and report.enough
    record = json.loads((store.root / voice.id / "voice.json").read_text())
    assert record["current_version"] == 1 and record["versions"][0]["source"] == "enroll"
    originals = sorted((voice.folder / "originals").iterdir())
    assert [p.name for p in originals] == ["001_анна.mp3"] and originals[0].read_bytes() == mp3.read_bytes()
    prepared = voice.prepared
    assert len(prepared) == report.files[0].utterances
    infos = [_wav_info(p) for p in prepared]
    assert all(i[:3] == (1, 2, PREPARED_RATE) for i in infos)
    assert sum(i[3] for i in infos) == pytest.approx(report.usable_s, abs=0.05)
    assert voice.report() == report
    assert not list(store.root.glob(f"{voice.id}/.tmp-*"))


def test_lookup_by_id_and_name_newest_wins(store, halves):
    first, _ = store.create("Голос", [("a.wav", halves[0])])
    second, _ = store.create("голос", [("b.wav", halves[1])])
    other, _ = store.create("Другой", [("c.wav", halves[0])])
    assert store.get(first.id) == first
    assert store.get("ГОЛОС") == second
    assert [v.id for v in store.list()] == [other.id, second.id, first.id]
    with pytest.raises(VoiceNotFound) as err:
        store.get("нет такого")
    assert err.value.code == "voice_not_found" and err.value.http_status == 404
    with pytest.raises(VoiceNotFound):
        store.get("0123456789ab")


def test_nothing_usable_is_rejected_with_the_report_and_nothing_written(store):
    files = [("music.wav", wav_bytes(chords(10))), ("noise.wav", wav_bytes(white_noise(5))), ("x.mp3", b"garbage" * 99)]
    with pytest.raises(VoiceRejected) as err:
        store.create("Мусор", files)
    exc = err.value
    assert isinstance(exc, InputError) and exc.http_status == 422 and exc.code == "voice_rejected"
    assert [f.accepted for f in exc.report.files] == [False, False, False]
    assert "музыку" in exc.report.files[0].problems[0] and "music.wav" in exc.message_ru
    assert exc.to_dict()["report"]["usable_s"] == 0
    assert not store.root.exists() or not any(store.root.iterdir())


def test_threshold_and_versions(store, halves):
    voice, report = store.create("Порог", [("one.wav", halves[0])])
    assert 10 < report.usable_s < MIN_SECONDS and report.level == "not_enough" and not report.enough
    v1_count = len(voice.prepared)
    assert store.info(voice.id)["enough"] is False
    voice2, report2 = store.add_samples(voice.id, [("two.wav", halves[1])])
    assert voice2.version == 2 and voice2.id == voice.id and report2.enough and report2.level == "enough"
    assert [f.name for f in report2.files] == ["one.wav", "two.wav"]
    assert report2.usable_s == pytest.approx(report.usable_s + report2.files[1].usable_s, abs=0.02)
    assert len(voice2.prepared) == v1_count + report2.files[1].utterances
    assert [p.name for p in voice2.prepared][:v1_count] == [p.name for p in voice.prepared]
    assert len(voice.prepared) == v1_count and voice.report() == report  # v1 untouched
    assert sorted(p.name for p in (voice2.folder / "originals").iterdir()) == ["001_one.wav", "002_two.wav"]
    info = store.info(voice.id)
    assert info["current_version"] == 2 and [v["source"] for v in info["versions"]] == ["enroll", "samples"]
    assert store.get("Порог").version == 2
    with pytest.raises(VoiceRejected):
        store.add_samples(voice.id, [("noise.wav", wav_bytes(white_noise(4)))])
    assert store.get(voice.id).version == 2


def test_limits_and_names(tmp_path, enroller, halves):
    small = VoiceStore(tmp_path / "v", limits=LimitSettings(max_voice_files=2, max_voice_mb=1.0), enroller=enroller)
    clip = (ASR_CLIPS / "festival_01.ogg").read_bytes()
    with pytest.raises(InputTooLarge) as err:
        small.create("Много", [("a.ogg", clip)] * 3)
    assert err.value.code == "too_many_files" and err.value.http_status == 413
    with pytest.raises(InputTooLarge) as err:
        small.create("Большой", [("a.wav", halves[0])])  # ~1.1 MB of WAV
    assert err.value.code == "too_large"
    with pytest.raises(InputError) as err:
        small.create("Пусто", [])
    assert err.value.code == "no_files"
    for name in ("", "   ", "я" * 61):
        with pytest.raises(InputError) as err:
            small.create(name, [("a.ogg", clip)])
        assert err.value.code == "bad_name"
    voice, report = small.create("я" * 60, [("a.ogg", clip)])
    assert voice.name == "я" * 60 and report.level == "not_enough"


def test_info_prepared_and_similarity(store, halves):
    voice, _ = store.create("Инфо", [("a.wav", halves[0])])
    info = store.info(voice.id)
    assert info["prepared"] is False and info["similarity"] is None and info["utterances"] == len(voice.prepared)
    (voice.folder / "profile.json").write_text(json.dumps({"f0_median_hz": 120.0}))
    (voice.folder / "similarity.json").write_text(json.dumps({"matched": 0.8}))
    info = store.info("Инфо")
    assert info["prepared"] is True and info["similarity"] == {"matched": 0.8}
    assert VoiceReport.from_dict(info["report"]) == voice.report()


def test_register_version_and_delete(store, halves, tmp_path):
    voice, report = store.create("Модель", [("a.wav", halves[0])])
    (voice.folder / "profile.json").write_text("{}")
    (voice.folder / "xtts_latents.pt").write_bytes(b"old latents")
    model = tmp_path / "model.pth"
    model.write_bytes(b"weights")
    checkpoint = tmp_path / "ckpt"
    checkpoint.mkdir()
    (checkpoint / "config.json").write_text("{}")
    trained = store.register_version(voice.id, "train:xtts", {"model.pth": model, "checkpoint": checkpoint})
    assert trained.version == 2 and (trained.folder / "model.pth").read_bytes() == b"weights"
    assert (trained.folder / "checkpoint" / "config.json").is_file()
    assert [p.name for p in trained.prepared] == [p.name for p in voice.prepared]
    assert trained.report() == report and (trained.folder / "profile.json").is_file()
    assert not (trained.folder / "xtts_latents.pt").exists()  # engine caches belong to one version
    assert store.info(voice.id)["versions"][-1]["source"] == "train:xtts"
    for bad in ("../x", "prepared", ".hidden", "a/b"):
        with pytest.raises(InputError):
            store.register_version(voice.id, "train", {bad: model})
    store.delete(voice.id)
    assert not (store.root / voice.id).exists()
    with pytest.raises(VoiceNotFound):
        store.get(voice.id)
    with pytest.raises(VoiceNotFound):
        store.delete(voice.id)


def _add_in_process(root: str, voice_id: str, clip: str, out: multiprocessing.Queue) -> None:
    voice, _ = VoiceStore(Path(root)).add_samples(voice_id, [(Path(clip).name, Path(clip).read_bytes())])
    out.put(voice.version)


def test_concurrent_processes_add_samples_without_losing_any(store, halves):
    voice, _ = store.create("Параллельно", [("a.wav", halves[0])])
    base = len(voice.prepared)
    clips = sorted(str(p) for p in ASR_CLIPS.glob("festival_0[0-3].ogg"))
    ctx = multiprocessing.get_context("spawn")
    results = ctx.Queue()
    procs = [ctx.Process(target=_add_in_process, args=(str(store.root), voice.id, c, results)) for c in clips]
    for p in procs:
        p.start()
    seen = []
    while any(p.is_alive() for p in procs):  # readers never see a half-written voice
        current = store.get(voice.id)
        assert current.report() is not None and len(current.prepared) >= base
        seen.append(current.version)
    for p in procs:
        p.join(120)
        assert p.exitcode == 0
    versions = sorted(results.get(timeout=5) for _ in procs)
    assert versions == [2, 3, 4, 5]
    final = store.get(voice.id)
    assert final.version == 5 and len(final.prepared) == base + len(clips)
    assert sorted(f.name for f in final.report().files) == sorted(["a.wav"] + [Path(c).name for c in clips])
    assert len({p.name for p in (final.folder / "originals").iterdir()}) == 1 + len(clips)
    assert not list((store.root / voice.id).glob(".tmp-*")) and seen


def test_prepared_audio_is_the_normalised_speech(store, halves):
    voice, report = store.create("Звук", [("a.wav", halves[0])])
    from ai_pipeline.voice.quality import integrated_loudness

    with wave.open(str(voice.prepared[0]), "rb") as w:
        pcm = np.frombuffer(w.readframes(w.getnframes()), "<i2").astype(np.float32) / 32768
    assert pcm.size / RATE >= 1.0 and np.abs(pcm).max() < 0.95
    assert integrated_loudness(pcm, PREPARED_RATE) == pytest.approx(-20, abs=2.5)


def test_uploads_on_disk_are_accepted_with_progress(store, halves, tmp_path):
    folder = store.upload_folder()
    assert folder.parent == store.root / ".uploads"
    paths = [folder / "001_one.wav", folder / "002_noise.wav"]
    paths[0].write_bytes(halves[0])
    paths[1].write_bytes(wav_bytes(white_noise(3)))
    seen: list[tuple[float, str]] = []
    voice, report = store.create("С диска", [("one.wav", paths[0]), ("noise.wav", paths[1])],
                                 lambda fraction, message: seen.append((fraction, message)))
    assert [f.accepted for f in report.files] == [True, False]
    originals = list((voice.folder / "originals").iterdir())
    assert [p.name for p in originals] == ["001_one.wav"] and originals[0].read_bytes() == halves[0]
    assert seen == [(0.0, "Анализ записи 1 из 2: one.wav"), (0.5, "Анализ записи 2 из 2: noise.wav")]
    small = VoiceStore(store.root, limits=LimitSettings(max_voice_mb=1.0), enroller=store.enroller)
    with pytest.raises(InputTooLarge):  # sizes of files on disk count like bytes
        small.add_samples(voice.id, [("one.wav", paths[0])])


def test_sweep_removes_old_leftovers_of_a_crash_only(store, halves):
    voice, _ = store.create("Живой", [("one.wav", halves[0])])
    root = store.root
    old = [root / ".uploads" / "a", root / f".deleted-{voice.id}-abc123", root / voice.id / ".tmp-crashed",
           root / "0123456789ab"]  # a first version that never got its voice.json
    for folder in old:
        folder.mkdir(parents=True)
        (folder / "part.wav").write_bytes(b"RIFF")
    stale_json = root / voice.id / ".voice.json.1234abcd.tmp"
    stale_json.write_text("{}")
    young = [root / ".uploads" / "b", root / voice.id / ".tmp-running"]  # a request still at work
    for folder in young:
        folder.mkdir(parents=True)
    hour_ago = time.time() - 3700
    for path in (*old, stale_json):
        os.utime(path, (hour_ago, hour_ago))

    removed = store.sweep()
    assert sorted(removed) == sorted([*old, stale_json])
    assert not any(os.path.lexists(p) for p in removed) and all(p.is_dir() for p in young)
    assert store.get(voice.id) == voice and voice.folder.is_dir() and voice.report() is not None
    time.sleep(0.01)
    assert sorted(store.sweep(max_age_s=0.0)) == sorted(young)
    assert store.get(voice.id) == voice
