; dl2-tests.scm — Script-Fu (GIMP 2.10) side of the plug-in-dream-denoise tests.
;
; Each test loads its own image, calls the procedure, and reports what it
; sees as facts, one gimp-message per fact: "DL|test|key|value". In a
; gimp-console batch those land on stderr as "script-fu-Warning: DL|…".
; The judging (names, sizes, pixels) is done by dl2check.py from these facts
; and the PNGs saved here. Run each test as its own -b so that one broken
; test cannot take the others with it.

(define (dl-join l)
  (cond ((null? l) "")
        ((null? (cdr l)) (car l))
        (else (string-append (car l) " " (dl-join (cdr l))))))

(define (dl-str v)
  (cond ((string? v) v)
        ((number? v) (number->string v))
        ((pair? v) (dl-join (map dl-str v)))
        ((null? v) "")
        (else "?")))

(define (dl-fact test key value)
  (gimp-message (string-append "DL|" test "|" key "|" (dl-str value))))

; (ok . return-values) or (error message ...): catches the Script-Fu error a
; failing PDB call raises, with its message.
(define (dl-try thunk)
  (let ((old *error-hook*))
    (call/cc
      (lambda (k)
        (set! *error-hook*
              (lambda args (set! *error-hook* old) (k (cons 'error args))))
        (let ((r (thunk)))
          (set! *error-hook* old)
          (cons 'ok r))))))

(define (dl-status r)
  (if (eq? (car r) 'ok)
      "ok"
      (string-append "error: " (if (string? (cadr r)) (cadr r) "?"))))

(define (dl-load file) (car (gimp-file-load RUN-NONINTERACTIVE file file)))
(define (dl-save img drawable file)
  (file-png-save-defaults RUN-NONINTERACTIVE img drawable file file))
(define (dl-layers img) (car (gimp-image-get-layers img)))
(define (dl-dirty img) (car (gimp-image-is-dirty img)))

; Saves the selection as the alpha of a white layer (mask from selection,
; applied): the values GIMP itself uses as coverage, without the tone curve
; a plain PNG export of the channel would add.
(define (dl-save-selection img file)
  (let* ((w (car (gimp-image-width img)))
         (h (car (gimp-image-height img)))
         (l (car (gimp-layer-new img w h RGBA-IMAGE "selection" 100 LAYER-MODE-NORMAL))))
    (gimp-image-insert-layer img l 0 -1)
    (gimp-drawable-fill l FILL-WHITE)
    (gimp-layer-add-mask l (car (gimp-layer-create-mask l ADD-MASK-SELECTION)))
    (gimp-layer-remove-mask l MASK-APPLY)
    (dl-save img l file)))

(define (dl-parasite item)
  (let ((r (dl-try (lambda () (gimp-item-get-parasite item "dreamlayer-settings")))))
    (if (eq? (car r) 'ok)
        (let ((p (cadr r)))             ; ("name" flags "data")
          (if (and (pair? p) (pair? (cddr p)) (string? (caddr p))) (caddr p) "?"))
        "none")))

(define (dl-denoise img drawable sigma model)
  (dl-try (lambda () (plug-in-dream-denoise RUN-NONINTERACTIVE img drawable sigma model))))

(define (dl-layer-facts test prefix layer)
  (dl-fact test (string-append prefix "name") (car (gimp-item-get-name layer)))
  (dl-fact test (string-append prefix "size")
           (list (car (gimp-drawable-width layer)) (car (gimp-drawable-height layer))))
  (dl-fact test (string-append prefix "offsets") (gimp-drawable-offsets layer))
  (dl-fact test (string-append prefix "type") (car (gimp-drawable-type layer)))
  (dl-fact test (string-append prefix "parasite") (dl-parasite layer)))

; A freshly imported image counts as dirty in batch mode: mark it clean so
; that "still clean afterwards" means "the call pushed nothing".
(define (dl-load-clean file)
  (let ((img (dl-load file)))
    (gimp-image-clean-all img)
    img))

; The image must be as it was: same layer count, not dirty, original saved.
(define (dl-unchanged-facts test dir img orig before r)
  (dl-fact test "status" (dl-status r))
  (dl-fact test "layers-before" before)
  (dl-fact test "layers-after" (dl-layers img))
  (dl-fact test "dirty" (dl-dirty img))
  (dl-save img orig (string-append dir "/" test "-orig.png")))

; 1: whole layer, sigma 25, colour model.
(define (dl-t1 dir)
  (let* ((img (dl-load (string-append dir "/noisy.png")))
         (orig (car (gimp-image-get-active-layer img)))
         (before (dl-layers img))
         (r (dl-denoise img orig 25 "color")))
    (dl-fact "t1" "status" (dl-status r))
    (dl-fact "t1" "layers-before" before)
    (when (eq? (car r) 'ok)
      (let ((l (cadr r)))
        (dl-fact "t1" "layers-after" (dl-layers img))
        (dl-fact "t1" "new-pos" (car (gimp-image-get-item-position img l)))
        (dl-fact "t1" "orig-pos" (car (gimp-image-get-item-position img orig)))
        (dl-layer-facts "t1" "" l)
        (dl-save img l (string-append dir "/t1-result.png"))
        (dl-save img orig (string-append dir "/t1-orig.png"))))))

; 2: rectangle, feathered rectangle, and a moved layer under a selection
;    that sticks out of it.
(define (dl-t2 dir)
  (let* ((img (dl-load (string-append dir "/noisy.png")))
         (drw (car (gimp-image-get-active-layer img)))
         (r1 '(error "not run")) (r2 '(error "not run")) (r3 '(error "not run")))
    (gimp-image-select-rectangle img CHANNEL-OP-REPLACE 30 20 70 50)
    (set! r1 (dl-denoise img drw 25 "color"))
    (when (eq? (car r1) 'ok)
      (dl-layer-facts "t2" "rect-" (cadr r1))
      (dl-save img (cadr r1) (string-append dir "/t2-rect.png")))

    (let* ((img2 (dl-load (string-append dir "/noisy.png")))
           (drw2 (car (gimp-image-get-active-layer img2))))
      (gimp-image-select-rectangle img2 CHANNEL-OP-REPLACE 40 30 80 60)
      (gimp-selection-feather img2 24)
      (dl-fact "t2" "feather-bounds" (cdr (gimp-selection-bounds img2)))
      (set! r2 (dl-denoise img2 drw2 25 "color"))
      (when (eq? (car r2) 'ok)
        (dl-layer-facts "t2" "feather-" (cadr r2))
        (dl-save img2 (cadr r2) (string-append dir "/t2-feather.png"))
        (dl-save-selection img2 (string-append dir "/t2-selection.png"))))

    (let* ((img3 (dl-load (string-append dir "/noisy.png")))
           (drw3 (car (gimp-image-get-active-layer img3))))
      (gimp-layer-set-offsets drw3 20 10)
      (gimp-image-select-rectangle img3 CHANNEL-OP-REPLACE 0 0 60 50)
      (set! r3 (dl-denoise img3 drw3 25 "color"))
      (when (eq? (car r3) 'ok)
        (dl-layer-facts "t2" "offset-" (cadr r3))
        (dl-save img3 (cadr r3) (string-append dir "/t2-offset.png"))))

    (dl-fact "t2" "status"
             (cond ((not (eq? (car r1) 'ok)) (string-append "rect " (dl-status r1)))
                   ((not (eq? (car r2) 'ok)) (string-append "feather " (dl-status r2)))
                   ((not (eq? (car r3) 'ok)) (string-append "offset " (dl-status r3)))
                   (else "ok")))))

; 3: estimate (sigma < 0).
(define (dl-t3 dir)
  (let* ((img (dl-load (string-append dir "/noisy.png")))
         (drw (car (gimp-image-get-active-layer img)))
         (r (dl-denoise img drw -1 "color")))
    (dl-fact "t3" "status" (dl-status r))
    (when (eq? (car r) 'ok)
      (dl-layer-facts "t3" "" (cadr r))
      (dl-save img (cadr r) (string-append dir "/t3-result.png")))))

; 4: a grey image (model "" = by layer type) and an RGBA image.
(define (dl-t4 dir)
  (let* ((img (dl-load (string-append dir "/noisy-gray.png")))
         (drw (car (gimp-image-get-active-layer img)))
         (r1 (dl-denoise img drw 25 ""))
         (img2 (dl-load (string-append dir "/noisy-rgba.png")))
         (drw2 (car (gimp-image-get-active-layer img2)))
         (r2 (dl-denoise img2 drw2 25 "color")))
    (dl-fact "t4" "status"
             (cond ((not (eq? (car r1) 'ok)) (string-append "grey " (dl-status r1)))
                   ((not (eq? (car r2) 'ok)) (string-append "rgba " (dl-status r2)))
                   (else "ok")))
    (when (eq? (car r1) 'ok)
      (dl-layer-facts "t4" "gray-" (cadr r1))
      (dl-save img (cadr r1) (string-append dir "/t4-gray.png")))
    (when (eq? (car r2) 'ok)
      (dl-layer-facts "t4" "rgba-" (cadr r2))
      (dl-save img2 (cadr r2) (string-append dir "/t4-rgba.png")))))

; 5: indexed image → error, nothing changed.
(define (dl-t5 dir)
  (let* ((img (dl-load-clean (string-append dir "/indexed.png")))
         (drw (car (gimp-image-get-active-layer img)))
         (before (dl-layers img))
         (r (dl-denoise img drw 25 "color")))
    (dl-fact "t5" "base-type" (car (gimp-image-base-type img)))
    (dl-unchanged-facts "t5" dir img drw before r)))

; 6: a corrupt model file → error, nothing changed.
(define (dl-t6 dir)
  (let* ((img (dl-load-clean (string-append dir "/noisy.png")))
         (drw (car (gimp-image-get-active-layer img)))
         (before (dl-layers img))
         (r (dl-denoise img drw 25 (string-append dir "/corrupt.safetensors"))))
    (dl-unchanged-facts "t6" dir img drw before r)))

; 7: cancelled by the engine's progress (DREAM_TEST_CANCEL_AT set for GIMP).
(define (dl-t7 dir)
  (let* ((img (dl-load-clean (string-append dir "/noisy.png")))
         (drw (car (gimp-image-get-active-layer img)))
         (before (dl-layers img))
         (r (dl-denoise img drw 25 "color")))
    (dl-unchanged-facts "t7" dir img drw before r)))

; 9: RUN-WITH-LAST-VALS reuses the settings of the last run.
(define (dl-t9 dir)
  (let* ((img (dl-load (string-append dir "/noisy.png")))
         (drw (car (gimp-image-get-active-layer img)))
         (r1 (dl-denoise img drw 12.5 "gray"))
         ; a second image, so that GIMP does not rename the layer "… #1"
         (img2 (dl-load (string-append dir "/noisy.png")))
         (drw2 (car (gimp-image-get-active-layer img2)))
         (r2 (dl-try (lambda ()
                       (plug-in-dream-denoise RUN-WITH-LAST-VALS img2 drw2 0 "")))))
    (dl-fact "t9" "status"
             (if (eq? (car r1) 'ok) (dl-status r2) (string-append "first " (dl-status r1))))
    (when (eq? (car r2) 'ok)
      (dl-layer-facts "t9" "" (cadr r2)))))

;  8 and 10 (GUI, through the Script-Fu server, see dl2gui.py): each step
; returns its facts as a string "DL|test|key|value\n…" instead of showing
; messages (in the GUI those would be message boxes).
(define dl-gui-img -1)

(define (dl-fact-line test key value)
  (string-append "DL|" test "|" key "|" (dl-str value) "\n"))

(define (dl-gui-open file)
  (set! dl-gui-img (dl-load file))
  (gimp-display-new dl-gui-img)
  (gimp-displays-flush)
  (car (gimp-image-get-active-layer dl-gui-img)))

; 8: a non-interactive run on a displayed image; dl2gui.py then presses
; Ctrl+Z and Ctrl+Y in its window.
(define (dl-t8-run dir)
  (let* ((drw (dl-gui-open (string-append dir "/noisy.png")))
         (r (dl-denoise dl-gui-img drw 25 "color")))
    (gimp-displays-flush)
    (string-append (dl-fact-line "t8" "mode" "gui")
                   (dl-fact-line "t8" "status" (dl-status r))
                   (dl-fact-line "t8" "layers-after" (dl-layers dl-gui-img)))))

(define (dl-gui-count test key)
  (dl-fact-line test key (dl-layers dl-gui-img)))

(define (dl-gui-top test prefix)
  (let ((top (vector-ref (cadr (gimp-image-get-layers dl-gui-img)) 0)))
    (string-append (dl-fact-line test (string-append prefix "name")
                                 (car (gimp-item-get-name top)))
                   (dl-fact-line test (string-append prefix "parasite")
                                 (dl-parasite top)))))

; 10: the dialog: dl2gui.py opens it, switches Estimate on and presses OK.
(define (dl-t10-open dir)
  (dl-gui-open (string-append dir "/noisy.png"))
  "opened")

(define (dl-t10-run)
  (let ((r (dl-try (lambda ()
                     (plug-in-dream-denoise RUN-INTERACTIVE dl-gui-img
                                            (car (gimp-image-get-active-layer dl-gui-img))
                                            25 "color")))))
    (string-append (dl-fact-line "t10" "status" (dl-status r))
                   (dl-gui-count "t10" "layers-after")
                   (dl-gui-top "t10" ""))))

; ---- plug-in-dream-upscale (up-in.png: a 64×48 crop) -----------------------

(define (dl-upscale img drawable scale model new-image)
  (dl-try (lambda () (plug-in-dream-upscale RUN-NONINTERACTIVE img drawable
                                            scale model new-image))))

(define (dl-image-facts test prefix img)
  (dl-fact test (string-append prefix "image-size")
           (list (car (gimp-image-width img)) (car (gimp-image-height img))))
  (dl-fact test (string-append prefix "layers") (dl-layers img)))

; 11: ×2, photo model, in place: the image grows, the result goes above.
(define (dl-t11 dir)
  (let* ((img (dl-load (string-append dir "/up-in.png")))
         (orig (car (gimp-image-get-active-layer img)))
         (r (dl-upscale img orig 2 "photo" 0)))
    (dl-fact "t11" "status" (dl-status r))
    (when (eq? (car r) 'ok)
      (let ((l (caddr r)))
        (dl-fact "t11" "same-image" (if (= (cadr r) img) 1 0))
        (dl-image-facts "t11" "" img)
        (dl-fact "t11" "new-pos" (car (gimp-image-get-item-position img l)))
        (dl-fact "t11" "orig-pos" (car (gimp-image-get-item-position img orig)))
        (dl-fact "t11" "orig-size"
                 (list (car (gimp-drawable-width orig)) (car (gimp-drawable-height orig))))
        (dl-layer-facts "t11" "" l)
        (dl-save img l (string-append dir "/t11-result.png"))))))

; 12: new-image: a new image holds the result, the source is unchanged.
(define (dl-t12 dir)
  (let* ((img (dl-load-clean (string-append dir "/up-in.png")))
         (orig (car (gimp-image-get-active-layer img)))
         (before (dl-layers img))
         (r (dl-upscale img orig 2 "photo" 1)))
    (dl-unchanged-facts "t12" dir img orig before r)
    (dl-image-facts "t12" "src-" img)
    (when (eq? (car r) 'ok)
      (let ((new-img (cadr r)) (l (caddr r)))
        (dl-fact "t12" "same-image" (if (= new-img img) 1 0))
        (dl-image-facts "t12" "new-" new-img)
        (dl-layer-facts "t12" "" l)
        (dl-save new-img l (string-append dir "/t12-result.png"))))))

; 13: indexed → error, nothing changed.
(define (dl-t13 dir)
  (let* ((img (dl-load-clean (string-append dir "/up-indexed.png")))
         (drw (car (gimp-image-get-active-layer img)))
         (before (dl-layers img))
         (r (dl-upscale img drw 2 "photo" 0)))
    (dl-image-facts "t13" "" img)
    (dl-unchanged-facts "t13" dir img drw before r)))

; 14: cancelled by the engine's progress (DREAM_TEST_CANCEL_AT), and an
;     unknown model: errors, nothing changed.
(define (dl-t14 dir)
  (let* ((img (dl-load-clean (string-append dir "/up-in.png")))
         (drw (car (gimp-image-get-active-layer img)))
         (before (dl-layers img))
         (r (dl-upscale img drw 2 "photo" 0)))
    (dl-image-facts "t14" "" img)
    (dl-unchanged-facts "t14" dir img drw before r)))

(define (dl-t15 dir)
  (let* ((img (dl-load-clean (string-append dir "/up-in.png")))
         (drw (car (gimp-image-get-active-layer img)))
         (before (dl-layers img))
         (r (dl-upscale img drw 2 "no-such-model" 0)))
    (dl-image-facts "t15" "" img)
    (dl-unchanged-facts "t15" dir img drw before r)))
