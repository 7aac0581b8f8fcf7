; dl2-clip.scm — Script-Fu (GIMP 2.10) side of the tests of
; plug-in-dream-clip-score and plug-in-dream-describe (run-clip.sh judges).
; Uses the helpers of dl2-tests.scm (dl-try, dl-fact, dl-load-clean, ...).
; Facts: "DL|clipN|key|value"; numbers of the returned arrays as a list.

(define (dlc-vec v) (if (vector? v) (vector->list v) v))

; Newlines in the ranking become " ¦ " so that the fact stays on one line.
(define (dlc-oneline s)
  (let loop ((cs (string->list s)) (out '()))
    (cond ((null? cs) (list->string (reverse out)))
          ((char=? (car cs) #\newline) (loop (cdr cs) (append (reverse (string->list " | ")) out)))
          (else (loop (cdr cs) (cons (car cs) out))))))

(define dlc-captions "a photograph of an astronaut riding a horse\na fancy fish\n\n   a horse  \nmultiple spaces")

(define (dlc-score img drw captions model)
  (dl-try (lambda () (plug-in-dream-clip-score RUN-NONINTERACTIVE img drw captions model))))

(define (dlc-score-facts test r)
  (dl-fact test "status" (dl-status r))
  (when (eq? (car r) 'ok)
    (let ((v (cdr r)))             ; (ranking n probs n cosines)
      (dl-fact test "ranking" (dlc-oneline (car v)))
      (dl-fact test "n" (cadr v))
      (dl-fact test "probs" (dlc-vec (caddr v)))
      (dl-fact test "cosines" (dlc-vec (list-ref v 4))))))

; The image as it was: layer count, clean, pixels saved for comparison.
(define (dlc-after test dir img drw before)
  (dl-fact test "layers-before" before)
  (dl-fact test "layers-after" (dl-layers img))
  (dl-fact test "dirty" (dl-dirty img))
  (dl-fact test "parasite" (dl-parasite drw))
  (dl-save img drw (string-append dir "/" test "-after.png")))

; 1: the whole RGB layer; the image stays as it was.
(define (dl-clip1 dir model)
  (let* ((img (dl-load-clean (string-append dir "/clean.png")))
         (drw (car (gimp-image-get-active-layer img)))
         (before (dl-layers img)))
    (dlc-score-facts "clip1" (dlc-score img drw dlc-captions model))
    (dlc-after "clip1" dir img drw before)))

; 2: a rectangle selection: CLIP sees its bounds only.
(define (dl-clip2 dir model)
  (let* ((img (dl-load-clean (string-append dir "/clean.png")))
         (drw (car (gimp-image-get-active-layer img)))
         (before (dl-layers img)))
    (gimp-image-select-rectangle img CHANNEL-OP-REPLACE 30 20 70 50)
    (gimp-image-clean-all img)
    (dlc-score-facts "clip2" (dlc-score img drw dlc-captions model))
    (dlc-after "clip2" dir img drw before)))

; 3: a grey layer (replicated to RGB).
(define (dl-clip3 dir model)
  (let* ((img (dl-load-clean (string-append dir "/clean-gray.png")))
         (drw (car (gimp-image-get-active-layer img))))
    (dlc-score-facts "clip3" (dlc-score img drw dlc-captions model))))

; 4: refused: an indexed image, a bad model file, a model that is not CLIP,
;    no captions; nothing changes.
(define (dl-clip4 dir model bad-model)
  (let* ((img (dl-load-clean (string-append dir "/indexed.png")))
         (drw (car (gimp-image-get-active-layer img)))
         (img2 (dl-load-clean (string-append dir "/clean.png")))
         (drw2 (car (gimp-image-get-active-layer img2)))
         (before (dl-layers img2)))
    (dl-fact "clip4" "indexed" (dl-status (dlc-score img drw dlc-captions model)))
    (dl-fact "clip4" "missing-model"
             (dl-status (dlc-score img2 drw2 dlc-captions "/nonexistent/clip.safetensors")))
    (dl-fact "clip4" "bad-model" (dl-status (dlc-score img2 drw2 dlc-captions bad-model)))
    (dl-fact "clip4" "no-captions" (dl-status (dlc-score img2 drw2 " \n \n" model)))
    (dl-fact "clip4" "describe-bad-model"
             (dl-status (dl-try (lambda () (plug-in-dream-describe RUN-NONINTERACTIVE img2 drw2
                                                                   bad-model "")))))
    (dl-fact "clip4" "describe-bad-vocabulary"
             (dl-status (dl-try (lambda () (plug-in-dream-describe RUN-NONINTERACTIVE img2 drw2
                                                                   model bad-model)))))
    (dlc-after "clip4" dir img2 drw2 before)))

; 5: describe the whole layer; the image stays as it was.
(define (dl-clip5 dir model)
  (let* ((img (dl-load-clean (string-append dir "/clean.png")))
         (drw (car (gimp-image-get-active-layer img)))
         (before (dl-layers img))
         (r (dl-try (lambda () (plug-in-dream-describe RUN-NONINTERACTIVE img drw model "")))))
    (dl-fact "clip5" "status" (dl-status r))
    (when (eq? (car r) 'ok) (dl-fact "clip5" "caption" (cadr r)))
    (dlc-after "clip5" dir img drw before)))

; 6: cancelled (DREAM_TEST_CANCEL_AT): an error, the image unchanged.
(define (dl-clip6 dir model)
  (let* ((img (dl-load-clean (string-append dir "/clean.png")))
         (drw (car (gimp-image-get-active-layer img)))
         (before (dl-layers img)))
    (dl-fact "clip6" "describe"
             (dl-status (dl-try (lambda () (plug-in-dream-describe RUN-NONINTERACTIVE img drw model "")))))
    (dl-fact "clip6" "score" (dl-status (dlc-score img drw dlc-captions model)))
    (dlc-after "clip6" dir img drw before)))

; 7 (semantic, with the bundled shapes-clip): a red circle on blue.
(define (dl-clip7 dir model)
  (let* ((img (dl-load-clean (string-append dir "/red-circle.png")))
         (drw (car (gimp-image-get-active-layer img)))
         (r (dl-try (lambda () (plug-in-dream-describe RUN-NONINTERACTIVE img drw model "")))))
    (dl-fact "clip7" "status" (dl-status r))
    (when (eq? (car r) 'ok) (dl-fact "clip7" "caption" (cadr r)))
    (dlc-score-facts "clip7s" (dlc-score img drw "a green star\na red circle" model))))

; ---- the dialogs, driven by dl2clipgui.py through the Script-Fu server ----
; open: display the image; one non-interactive run of each procedure with
; the test model makes it the dialogs' last-used model; the facts of those
; runs are the reference for the interactive ones.
(define (dl-clipgui-open dir model)
  (let* ((drw (dl-gui-open (string-append dir "/clean.png")))
         (r (dlc-score dl-gui-img drw "a horse\na fancy fish" model))
         (d (dl-try (lambda () (plug-in-dream-describe RUN-NONINTERACTIVE dl-gui-img drw model "")))))
    (gimp-image-clean-all dl-gui-img)
    (string-append
      (dl-fact-line "clipgui" "batch-ranking" (if (eq? (car r) 'ok) (dlc-oneline (cadr r)) (dl-status r)))
      (dl-fact-line "clipgui" "batch-caption" (if (eq? (car d) 'ok) (cadr d) (dl-status d))))))

(define (dl-clipgui-score)
  (let* ((drw (car (gimp-image-get-active-layer dl-gui-img)))
         (r (dl-try (lambda () (plug-in-dream-clip-score RUN-INTERACTIVE dl-gui-img drw "" "")))))
    (string-append
      (dl-fact-line "clipgui" "score-status" (dl-status r))
      (dl-fact-line "clipgui" "ranking" (if (eq? (car r) 'ok) (dlc-oneline (cadr r)) ""))
      (dl-fact-line "clipgui" "score-layers" (dl-layers dl-gui-img))
      (dl-fact-line "clipgui" "score-dirty" (dl-dirty dl-gui-img)))))

(define (dl-clipgui-describe)
  (let* ((drw (car (gimp-image-get-active-layer dl-gui-img)))
         (r (dl-try (lambda () (plug-in-dream-describe RUN-INTERACTIVE dl-gui-img drw "" "")))))
    (string-append
      (dl-fact-line "clipgui" "describe-status" (dl-status r))
      (dl-fact-line "clipgui" "caption" (if (eq? (car r) 'ok) (cadr r) ""))
      (dl-fact-line "clipgui" "describe-layers" (dl-layers dl-gui-img))
      (dl-fact-line "clipgui" "describe-dirty" (dl-dirty dl-gui-img)))))
