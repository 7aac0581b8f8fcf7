# cases_generate.py — GIMP side of the GIMP 3 tests of plug-in-dream-txt2img
# and plug-in-dream-img2img (cases gen-*; run-generate.sh judges them).
# Exec'd into cases.py's globals: uses call, snapshot, export, describe,
# new_layers, facts. Models: $DREAM_GEN_SD (the tiny SD checkpoint of
# tests/data) and $DREAM_GEN_CLIP (the tiny CLIP model); inputs: the 64x48
# crops run.sh makes in $DREAM_UPDATA.
GEN_SD = os.environ.get("DREAM_GEN_SD", "")
GEN_CLIP = os.environ.get("DREAM_GEN_CLIP", "")
GEN_DATA = os.environ.get("DREAM_UPDATA", DATA)
TXT2IMG = "plug-in-dream-txt2img"
IMG2IMG = "plug-in-dream-img2img"


def gen_values(res, key):
    """The returned layers (ids) and seeds, as plain lists."""
    facts[key + "_layers"] = [l.get_id() for l in (res.get_core_object_array(1) or [])]
    # (the int32 array "seeds" cannot be read from Python in GIMP 3.0)
    facts[key + "_seed"] = res.index(2)


def gen_case(proc, image_file, select=None, offsets=None, runs=1, **props):
    img = Gimp.file_load(Gimp.RunMode.NONINTERACTIVE,
                         Gio.File.new_for_path(os.path.join(GEN_DATA, image_file)))
    src = img.get_selected_layers()[0]
    if offsets:
        src.set_offsets(*offsets)
    if select:
        img.select_rectangle(Gimp.ChannelOps.REPLACE, *select)
    img.clean_all()
    snapshot(img, "before")
    export(src, "src-before.png")
    statuses = []
    for r in range(runs):
        status, res = call(proc, img, [src], **props)
        statuses.append(facts["status"])
        if status == Gimp.PDBStatusType.SUCCESS:
            gen_values(res, "run%d" % r)
    facts["statuses"] = statuses
    snapshot(img, "after")
    news = new_layers(img)
    facts["new"] = [describe(l) for l in news]
    for i, l in enumerate(news):
        export(l, f"result{i}.png")
    export(src, "src-after.png")
    facts["src"] = describe(src)
    facts["dirty"] = img.is_dirty()


def gen_txt2img(image_file="up-in.png", **props):
    args = {"prompt": "a red circle", "negative-prompt": "blurry", "model": GEN_SD,
            "width": 0, "height": 0, "seed": 1234, "steps": 4, "cfg": 7.5,
            "sampler": "euler", "count": 1}
    args.update(props)
    gen_case(TXT2IMG, image_file, **args)


def gen_img2img(**props):
    args = {"prompt": "a blue square", "negative-prompt": "", "model": GEN_SD,
            "strength": 0.6, "seed": 5, "steps": 4, "cfg": 7.5, "sampler": "ddim",
            "count": 1}
    args.update(props)
    gen_case(IMG2IMG, "up-in.png", **args)


def case_gen_txt2img():
    gen_txt2img(count=2)


def case_gen_same_seed():
    gen_txt2img(runs=2, width=37, height=21, seed=99, steps=0, cfg=-1.0, sampler="default")


def case_gen_img2img():
    gen_img2img()


def case_gen_img2img_selection():
    gen_img2img(offsets=(8, 4), select=(18, 10, 30, 20), strength=0.5, seed=6)


def case_gen_cancel():
    facts["cancel_at"] = os.environ.get("DREAM_TEST_CANCEL_AT")
    gen_txt2img(count=2)


def case_gen_bad_model():
    path = os.path.join(OUT, "corrupt.safetensors")
    with open(path, "wb") as f:
        f.write((200).to_bytes(8, "little") + b'{"__metadata__": {"architecture": "st'
                + bytes(range(256)) * 3)
    gen_txt2img(model=path)


def case_gen_missing_model():
    gen_img2img(model="no-such-model")


def case_gen_indexed():
    gen_txt2img("up-indexed.png")


def case_gen_rank():
    gen_txt2img(width=32, height=32, seed=70, steps=3, sampler="euler-a", count=3,
                **{"rank-by-clip": True, "clip-model": GEN_CLIP})
