; dl2-inpaint.scm — Script-Fu (GIMP 2.10) side of the tests of
; plug-in-dream-inpaint and plug-in-dream-outpaint (run-inpaint.sh).
;
; Uses the helpers of dl2-tests.scm (dl-fact, dl-try, dl-load, dl-save,
; dl-save-selection, dl-layer-facts, ...). Each test reports facts
; "DL|test|key|value" and saves PNGs into DIR; dl2-inpaint-check.py judges
; them against the CLI (`dream inpaint` / `dream outpaint`).

(define (dli-inpaint img drw mode whole context seed)
  (dl-try (lambda ()
            (plug-in-dream-inpaint RUN-NONINTERACTIVE img drw mode whole context seed
                                   "" "" "" 25 7.5 1.0))))

(define (dli-outpaint img drw left right top bottom feather whole context)
  (dli-outpaint-to img drw left right top bottom feather whole context 0 0 "" ""))

; with the target arguments (appended after the fill arguments):
; target-width target-height aspect anchor
(define (dli-outpaint-to img drw left right top bottom feather whole context tw th aspect anchor)
  (dl-try (lambda ()
            (plug-in-dream-outpaint RUN-NONINTERACTIVE img drw left right top bottom feather
                                    0 whole context 0 "" "" "" 25 7.5 1.0
                                    tw th aspect anchor))))

; dl-save-selection adds a layer: do it on a copy of the image.
(define (dli-save-selection img file)
  (let ((dup (car (gimp-image-duplicate img))))
    (dl-save-selection dup file)
    (gimp-image-delete dup)))

(define (dli-has-mask layer)
  (if (> (car (gimp-layer-get-mask layer)) 0) 1 0))

; Saves, for a result layer: its pixels without the mask (T-layer.png, the
; layer's own size), its layer mask (T-mask.png: canvas-size, alpha =
; mask), and the image's composite (T-comp.png, canvas size).
(define (dli-save-result test dir img layer)
  (let* ((dup (car (gimp-image-duplicate img)))
         (pos (car (gimp-image-get-item-position img layer)))
         (dl (vector-ref (cadr (gimp-image-get-layers dup)) pos)))
    (gimp-image-select-item dup CHANNEL-OP-REPLACE (car (gimp-layer-get-mask dl)))
    (dli-save-selection dup (string-append dir "/" test "-mask.png"))
    (gimp-image-delete dup))
  (let* ((dup (car (gimp-image-duplicate img)))
         (pos (car (gimp-image-get-item-position img layer)))
         (dl (vector-ref (cadr (gimp-image-get-layers dup)) pos)))
    (gimp-layer-remove-mask dl MASK-DISCARD)
    (dl-save dup dl (string-append dir "/" test "-layer.png"))
    (gimp-image-delete dup))
  (let* ((dup (car (gimp-image-duplicate img)))
         (m (car (gimp-image-merge-visible-layers dup CLIP-TO-IMAGE))))
    (dl-save dup m (string-append dir "/" test "-comp.png"))
    (gimp-image-delete dup)))

; The facts every run reports; on success also the new layer's.
(define (dli-facts test dir img drw before r)
  (dl-fact test "status" (dl-status r))
  (dl-fact test "layers-before" before)          ; counts
  (dl-fact test "layers-after" (dl-layers img))
  (dl-fact test "image-size" (list (car (gimp-image-width img)) (car (gimp-image-height img))))
  (dl-fact test "dirty" (dl-dirty img))
  (dl-layer-facts test "orig-" drw)
  (dl-save img drw (string-append dir "/" test "-orig.png"))
  (when (eq? (car r) 'ok)
    (let ((l (cadr r)))
      (dl-layer-facts test "new-" l)
      (dl-fact test "new-mask" (dli-has-mask l))
      (dl-fact test "new-pos" (car (gimp-image-get-item-position img l)))
      (dl-fact test "orig-pos" (car (gimp-image-get-item-position img drw)))
      (dli-save-result test dir img l))))

; i1: a rectangle, sampled around it (64 px), seed 0.
(define (dli-i1 dir)
  (let* ((img (dl-load-clean (string-append dir "/photo.png")))
         (drw (car (gimp-image-get-active-layer img)))
         (before (dl-layers img)))
    (gimp-image-select-rectangle img CHANNEL-OP-REPLACE 100 60 60 50)
    (dli-save-selection img (string-append dir "/i1-selection.png"))
    (gimp-image-clean-all img)
    (dli-facts "i1" dir img drw before (dli-inpaint img drw 0 0 64 0))))

; i2: a feathered ellipse, sampled from the whole image, seed 3.
(define (dli-i2 dir)
  (let* ((img (dl-load-clean (string-append dir "/photo.png")))
         (drw (car (gimp-image-get-active-layer img)))
         (before (dl-layers img)))
    (gimp-image-select-ellipse img CHANNEL-OP-REPLACE 60 50 80 70)
    (gimp-selection-feather img 12)
    (dli-save-selection img (string-append dir "/i2-selection.png"))
    (gimp-image-clean-all img)
    (dli-facts "i2" dir img drw before (dli-inpaint img drw 0 1 64 3))))

; i3: no selection; i4: everything selected; i5: a selection beside a
; small layer (none of it over the layer); i6: indexed. All: a clear
; error, the image unchanged.
(define (dli-i3 dir)
  (let* ((img (dl-load-clean (string-append dir "/photo.png")))
         (drw (car (gimp-image-get-active-layer img)))
         (before (dl-layers img)))
    (dli-facts "i3" dir img drw before (dli-inpaint img drw 0 0 64 0))))

(define (dli-i4 dir)
  (let* ((img (dl-load-clean (string-append dir "/photo.png")))
         (drw (car (gimp-image-get-active-layer img)))
         (before (dl-layers img)))
    (gimp-selection-all img)
    (gimp-image-clean-all img)
    (dli-facts "i4" dir img drw before (dli-inpaint img drw 0 1 64 0))))

(define (dli-i5 dir)
  (let* ((img (dl-load-clean (string-append dir "/photo.png")))
         (drw (car (gimp-image-get-active-layer img)))
         (small (car (gimp-layer-new img 40 30 RGBA-IMAGE "small" 100 LAYER-MODE-NORMAL)))
         (before #f))
    (gimp-image-insert-layer img small 0 0)
    (gimp-layer-set-offsets small 200 150)
    (gimp-image-select-rectangle img CHANNEL-OP-REPLACE 10 10 50 50)
    (set! before (dl-layers img))
    (gimp-image-clean-all img)
    (dli-facts "i5" dir img small before (dli-inpaint img small 0 0 64 0))))

(define (dli-i6 dir)
  (let* ((img (dl-load-clean (string-append dir "/indexed.png")))
         (drw (car (gimp-image-get-active-layer img)))
         (before (dl-layers img)))
    (gimp-image-select-rectangle img CHANNEL-OP-REPLACE 100 60 60 50)
    (gimp-image-clean-all img)
    (dli-facts "i6" dir img drw before (dli-inpaint img drw 0 0 64 0))))

; i7: generate with the tiny test SD checkpoint (DIR/sd_tiny.safetensors,
; made by run-inpaint.sh), twice with the same seed (i7, i7b: the same
; pixels); i9: generate with a model that is not installed → error, unchanged.
(define (dli-generate img drw model)
  (dl-try (lambda ()
            (plug-in-dream-inpaint RUN-NONINTERACTIVE img drw 1 0 64 7
                                   "a red bird" "blurry" model 4 7.5 1.0))))

(define (dli-gen-case test dir model)
  (let* ((img (dl-load-clean (string-append dir "/photo.png")))
         (drw (car (gimp-image-get-active-layer img)))
         (before (dl-layers img)))
    (gimp-image-select-rectangle img CHANNEL-OP-REPLACE 100 60 60 50)
    (dli-save-selection img (string-append dir "/" test "-selection.png"))
    (gimp-image-clean-all img)
    (dli-facts test dir img drw before (dli-generate img drw model))))

(define (dli-i7 dir) (dli-gen-case "i7" dir (string-append dir "/sd_tiny.safetensors")))
(define (dli-i7b dir) (dli-gen-case "i7b" dir (string-append dir "/sd_tiny.safetensors")))
(define (dli-i9 dir) (dli-gen-case "i9" dir "no-such-model"))

; i8 (with DREAM_TEST_CANCEL_AT): a cancelled inpaint.
(define (dli-i8 dir)
  (let* ((img (dl-load-clean (string-append dir "/photo.png")))
         (drw (car (gimp-image-get-active-layer img)))
         (before (dl-layers img)))
    (gimp-image-select-rectangle img CHANNEL-OP-REPLACE 100 60 60 50)
    (gimp-image-clean-all img)
    (dli-facts "i8" dir img drw before (dli-inpaint img drw 0 0 64 0))))

; o1: extend by 32 px on the left and at the top (blend 16, whole image).
(define (dli-o1 dir)
  (let* ((img (dl-load-clean (string-append dir "/photo.png")))
         (drw (car (gimp-image-get-active-layer img)))
         (before (dl-layers img)))
    (dli-facts "o1" dir img drw before (dli-outpaint img drw 32 0 32 0 16 1 64))))

; o2: nothing to add → error, unchanged. o3 (with DREAM_TEST_CANCEL_AT):
; a cancelled extension.
(define (dli-o2 dir)
  (let* ((img (dl-load-clean (string-append dir "/photo.png")))
         (drw (car (gimp-image-get-active-layer img)))
         (before (dl-layers img)))
    (dli-facts "o2" dir img drw before (dli-outpaint img drw 0 0 0 0 16 1 64))))

(define (dli-o3 dir)
  (let* ((img (dl-load-clean (string-append dir "/photo.png")))
         (drw (car (gimp-image-get-active-layer img)))
         (before (dl-layers img)))
    (dli-facts "o3" dir img drw before (dli-outpaint img drw 32 0 32 0 16 1 64))))

; o4: to 16:9 with the picture at the left (blend 16, whole image): the
; sides given (256 on the right) are replaced by the ratio's margins,
; 256x192 -> ceil(192*16/9) = 342 wide, all 86 new columns on the right.
(define (dli-o4 dir)
  (let* ((img (dl-load-clean (string-append dir "/photo.png")))
         (drw (car (gimp-image-get-active-layer img)))
         (before (dl-layers img)))
    (dli-facts "o4" dir img drw before
               (dli-outpaint-to img drw 0 256 0 0 16 1 64 0 0 "16:9" "left"))))

; o5: a target width smaller than the canvas: a clear error, unchanged.
(define (dli-o5 dir)
  (let* ((img (dl-load-clean (string-append dir "/photo.png")))
         (drw (car (gimp-image-get-active-layer img)))
         (before (dl-layers img)))
    (dli-facts "o5" dir img drw before
               (dli-outpaint-to img drw 0 0 0 0 16 1 64 200 300 "" "center"))))
