# cases_inpaint.py — GIMP side of the tests of plug-in-dream-inpaint and
# plug-in-dream-outpaint (GIMP 3). exec'd into cases.py's globals (load,
# export, export_selection, snapshot, describe, call, new_layers, facts,
# OUT, ...); the verdicts are in run-inpaint.sh.
INPAINT = "plug-in-dream-inpaint"
OUTPAINT = "plug-in-dream-outpaint"
PHOTO = "kodim23-crop.png"


def export_mask(layer, name):
    """The layer mask of `layer` (8-bit grey, the layer's size)."""
    mask = layer.get_mask()
    facts["has_mask"] = mask is not None
    if mask is None:
        return
    buf = mask.get_buffer()
    r = buf.get_extent()
    data = buf.get(r, 1.0, "Y u8", Gegl.AbyssPolicy.NONE)
    Image.frombytes("L", (r.width, r.height), bytes(data)).save(os.path.join(OUT, name))


def export_composite(img, name):
    dup = img.duplicate()
    merged = dup.merge_visible_layers(Gimp.MergeType.CLIP_TO_IMAGE)
    export(merged, name)
    dup.delete()


def image_size(img, key):
    facts[key] = [img.get_width(), img.get_height()]


def fill_case(proc, img, src, **props):
    """Runs `proc` on src; records everything run-inpaint.sh judges."""
    snapshot(img, "before")
    image_size(img, "size_before")
    export(src, "src-before.png")
    img.clean_all()
    status, res = call(proc, img, [src], **props)
    snapshot(img, "after")
    image_size(img, "size_after")
    facts["dirty"] = img.is_dirty()
    news = new_layers(img)
    facts["new"] = [describe(l) for l in news]
    facts["src"] = describe(src)
    export(src, "src-after.png")
    if news:
        export(news[0], "result0.png")       # its own pixels, mask not applied
        export_mask(news[0], "mask0.png")
        export_composite(img, "comp.png")
    if status == Gimp.PDBStatusType.SUCCESS:
        facts["result_is_new"] = bool(news) and res.index(1).get_id() == news[0].get_id()


def inpaint_case(select, **props):
    img = load(PHOTO)
    src = img.get_selected_layers()[0]
    if select:
        select(img)
        ok, non_empty, x1, y1, x2, y2 = Gimp.Selection.bounds(img)
        facts["sel_bounds"] = [x1, y1, x2 - x1, y2 - y1]
        export_selection(img, "selection.png")
    fill_case(INPAINT, img, src, **props)


def _rect(img):
    img.select_rectangle(Gimp.ChannelOps.REPLACE, 100, 60, 60, 50)


def _ellipse(img):
    img.select_ellipse(Gimp.ChannelOps.REPLACE, 60, 50, 80, 70)
    Gimp.Selection.feather(img, 12.0)


def case_inpaint_rect():
    inpaint_case(_rect, **{"sample-from": "around", "context": 64, "seed": 0})


def case_inpaint_feather():
    inpaint_case(_ellipse, **{"sample-from": "whole", "seed": 3})


def case_inpaint_none():
    inpaint_case(None)


def case_inpaint_all():
    inpaint_case(lambda img: Gimp.Selection.all(img))


GEN = {"mode": "generate", "prompt": "a red bird", "negative-prompt": "blurry",
       "seed": 7, "steps": 4, "cfg-scale": 7.5, "strength": 1.0}


def case_inpaint_generate():
    # the tiny SD checkpoint of tests/data, unpacked by run-inpaint.sh; the
    # same run twice in one image: the second result must be the same
    inpaint_case(_rect, model=os.environ["DREAM_SD_TINY"], **GEN)
    img = Gimp.get_images()[0]
    src = [l for l in img.get_layers() if l.get_name() == "Background"][0]
    call(INPAINT, img, [src], model=os.environ["DREAM_SD_TINY"], **GEN)
    again = [l for l in img.get_layers() if l.get_id() not in {x["id"] for x in facts["after"]}]
    facts["again"] = [describe(l) for l in again]
    if again:
        export(again[0], "result-again.png")


def case_inpaint_generate_nomodel():
    inpaint_case(_rect, model="no-such-model", **GEN)


def case_outpaint_generate():
    outpaint_case(model=os.environ["DREAM_SD_TINY"],
                  **{"left": 0, "right": 48, "top": 0, "bottom": 0, "feather": 16, **GEN})


def case_inpaint_cancel():
    facts["cancel_at"] = os.environ.get("DREAM_TEST_CANCEL_AT")
    inpaint_case(_rect)


def case_inpaint_indexed():
    img = load("kodim23-noisy25-indexed.png")
    src = img.get_selected_layers()[0]
    _rect(img)
    fill_case(INPAINT, img, src)


def case_inpaint_off_layer():
    # an "empty" selection for the layer: selected pixels, none over it
    img = load(PHOTO)
    small = Gimp.Layer.new(img, "small", 40, 30, Gimp.ImageType.RGBA_IMAGE, 100.0,
                           Gimp.LayerMode.NORMAL)
    img.insert_layer(small, None, 0)
    small.set_offsets(200, 150)
    img.select_rectangle(Gimp.ChannelOps.REPLACE, 10, 10, 50, 50)
    fill_case(INPAINT, img, small)


def outpaint_case(**props):
    img = load(PHOTO)
    src = img.get_selected_layers()[0]
    fill_case(OUTPAINT, img, src, **props)


def case_outpaint():
    outpaint_case(**{"left": 32, "right": 0, "top": 32, "bottom": 0, "feather": 16,
                     "sample-from": "whole", "seed": 0})


def case_outpaint_nothing():
    outpaint_case(**{"left": 0, "right": 0, "top": 0, "bottom": 0})


def case_outpaint_cancel():
    facts["cancel_at"] = os.environ.get("DREAM_TEST_CANCEL_AT")
    outpaint_case(**{"left": 32, "right": 0, "top": 32, "bottom": 0})


def case_outpaint_aspect():
    # to 16:9 with the picture at the left; "right" keeps its default
    # (256), which the ratio replaces: 256x192 -> 342x192, right 86
    outpaint_case(**{"aspect": "16:9", "anchor": "left", "feather": 16,
                     "sample-from": "whole", "seed": 0})


def case_outpaint_size():
    # to 300x240 with the picture at the bottom right: left 44, top 48
    outpaint_case(**{"target-width": 300, "target-height": 240, "anchor": "bottom-right",
                     "feather": 16, "sample-from": "whole", "seed": 0})


def case_outpaint_smaller():
    outpaint_case(**{"target-width": 200, "target-height": 300})


def case_outpaint_bad_aspect():
    outpaint_case(**{"aspect": "16:0"})
