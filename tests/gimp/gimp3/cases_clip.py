# cases_clip.py — GIMP side of the GIMP 3 tests of plug-in-dream-clip-score
# and plug-in-dream-describe (exec'd into cases.py's globals: call,
# snapshot, export, describe, load, facts, OUT). run-clip.sh judges with
# tests/gimp/common/clip_check.py against `dream clip-score` / `dream
# describe` on the layer's pixels as exported here (src-before.png).
CLIP_MODEL = os.environ.get("DREAM_CLIP_MODEL", "")
CLIP_CAPTIONS = "a photograph of an astronaut riding a horse\na fancy fish\n\n   a horse  \nmultiple spaces"


def _doubles(res, i):
    """A double-array return value as a list. GIMP 3.0.4's Python sees a
    Gimp.DoubleArray box; Gimp.value_get_double_array reads it, but only
    after a first (failing) Gimp.DoubleArray.get_values call — seen here,
    not understood; hence the attempts in this order."""
    errors = []
    for get in (lambda: Gimp.DoubleArray.get_values(res.index(i)),
                lambda: Gimp.value_get_double_array(res.index(i)),
                lambda: Gimp.value_get_double_array(res.index(i))):
        try:
            return [float(a) for a in get()]
        except Exception as e:  # noqa: BLE001
            errors.append("%s: %s" % (type(e).__name__, e))
    return "unreadable: " + "; ".join(errors)


def _clip_image(name, select=None):
    img = load(name)
    src = img.get_selected_layers()[0]
    if select:
        img.select_rectangle(Gimp.ChannelOps.REPLACE, *select)
    img.clean_all()
    snapshot(img, "before")
    export(src, "src-before.png")
    return img, src


def _clip_after(img, src):
    snapshot(img, "after")
    facts["new"] = [l for l in facts["after"] if l["id"] not in [b["id"] for b in facts["before"]]]
    facts["dirty"] = bool(img.is_dirty())
    export(src, "src-after.png")


def _score(img, src, captions=CLIP_CAPTIONS, model=None):
    status, res = call("plug-in-dream-clip-score", img, [src], captions=captions,
                       model=CLIP_MODEL if model is None else model)
    if status == Gimp.PDBStatusType.SUCCESS:
        facts["ranking"] = res.index(1)
        facts["probs"] = _doubles(res, 2)
        facts["cosines"] = _doubles(res, 3)
    return status


def _describe(img, src, model=None, vocabulary=""):
    status, res = call("plug-in-dream-describe", img, [src],
                       model=CLIP_MODEL if model is None else model, vocabulary=vocabulary)
    if status == Gimp.PDBStatusType.SUCCESS:
        facts["caption"] = res.index(1)
    return status


def case_clip_score():
    img, src = _clip_image("kodim23-crop.png")
    _score(img, src)
    _clip_after(img, src)


def case_clip_score_selection():
    img, src = _clip_image("kodim23-crop.png", (30, 20, 70, 50))
    _score(img, src)
    _clip_after(img, src)


def case_clip_score_gray():
    img, src = _clip_image("kodim23-gray.png")
    _score(img, src)
    _clip_after(img, src)


def case_clip_errors():
    errs = {}
    img, src = _clip_image("kodim23-noisy25-indexed.png")
    _score(img, src)
    errs["indexed"] = [facts["status"], facts["error"]]
    _clip_after(img, src)
    img2, src2 = _clip_image("kodim23-crop.png")
    bad = os.path.join(OUT, "clip-bad.safetensors")
    with open(bad, "wb") as f:
        f.write(b"\x40\x00\x00\x00\x00\x00\x00\x00{\"a\": {\"dtype\": \"F32\", \"shape\": [4]")
    for key, kw in (("missing-model", {"model": "/nonexistent/clip.safetensors"}),
                    ("bad-model", {"model": bad}),
                    ("no-captions", {"captions": " \n \n"})):
        _score(img2, src2, **kw)
        errs[key] = [facts["status"], facts["error"]]
    _describe(img2, src2, model=bad)
    errs["describe-bad-model"] = [facts["status"], facts["error"]]
    _describe(img2, src2, vocabulary=bad)
    errs["describe-bad-vocabulary"] = [facts["status"], facts["error"]]
    facts["errors"] = errs
    _clip_after(img2, src2)


def case_describe():
    img, src = _clip_image("kodim23-crop.png")
    _describe(img, src)
    _clip_after(img, src)


def case_clip_cancel():
    # DREAM_TEST_CANCEL_AT=0.3 is in GIMP's environment (run-clip.sh)
    facts["cancel_at"] = os.environ.get("DREAM_TEST_CANCEL_AT")
    img, src = _clip_image("kodim23-crop.png")
    _describe(img, src)
    facts["describe_status"] = [facts["status"], facts["error"]]
    _score(img, src)
    facts["score_status"] = [facts["status"], facts["error"]]
    _clip_after(img, src)


def case_clip_semantic():
    # a red circle on blue, drawn by run-clip.sh; the bundled shapes-clip
    global DATA
    DATA = os.environ["DREAM_CLIP_DATA"]
    img, src = _clip_image("red-circle.png")
    _describe(img, src, model=os.environ["DREAM_SHAPES_CLIP"])
    _score(img, src, captions="a green star\na red circle", model=os.environ["DREAM_SHAPES_CLIP"])
    _clip_after(img, src)
