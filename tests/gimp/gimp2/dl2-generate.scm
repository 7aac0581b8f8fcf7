; dl2-generate.scm — Script-Fu (GIMP 2.10) side of the tests of
; plug-in-dream-txt2img and plug-in-dream-img2img (run-generate.sh).
;
; Each test loads its own image, calls a procedure and reports what it sees,
; one gimp-message per fact: "DL|test|key|value"; the layers it made are
; saved as PNGs. gen-check.py judges them (names, places, parasites, pixels
; against the `dream` CLI run with the settings read back from each
; parasite, CLIP order against `dream clip-score`).

(define (dlg-join l)
  (cond ((null? l) "")
        ((null? (cdr l)) (car l))
        (else (string-append (car l) " " (dlg-join (cdr l))))))

(define (dlg-str v)
  (cond ((string? v) v)
        ((number? v) (number->string v))
        ((vector? v) (dlg-str (vector->list v)))
        ((pair? v) (dlg-join (map dlg-str v)))
        ((null? v) "")
        (else "?")))

(define (dlg-fact test key value)
  (gimp-message (string-append "DL|" test "|" key "|" (dlg-str value))))

(define (dlg-try thunk)
  (let ((old *error-hook*))
    (call/cc
      (lambda (k)
        (set! *error-hook*
              (lambda args (set! *error-hook* old) (k (cons 'error args))))
        (let ((r (thunk)))
          (set! *error-hook* old)
          (cons 'ok r))))))

(define (dlg-status r)
  (if (eq? (car r) 'ok)
      "ok"
      (string-append "error: " (if (string? (cadr r)) (cadr r) "?"))))

(define (dlg-load file)
  (let ((img (car (gimp-file-load RUN-NONINTERACTIVE file file))))
    (gimp-image-clean-all img)
    img))
(define (dlg-layers img) (car (gimp-image-get-layers img)))

(define (dlg-parasite item)
  (let ((r (dlg-try (lambda () (gimp-item-get-parasite item "dreamlayer-settings")))))
    (if (eq? (car r) 'ok)
        (let ((p (cadr r)))
          (if (and (pair? p) (pair? (cddr p)) (string? (caddr p))) (caddr p) "?"))
        "none")))

(define (dlg-txt2img img model w h seed steps cfg sampler count rank clip)
  (dlg-try (lambda ()
             (plug-in-dream-txt2img RUN-NONINTERACTIVE img
                                    (car (gimp-image-get-active-layer img))
                                    "a red circle" "blurry" model w h seed steps cfg
                                    sampler count rank clip))))

(define (dlg-img2img img drw model strength seed)
  (dlg-try (lambda ()
             (plug-in-dream-img2img RUN-NONINTERACTIVE img drw "a blue square" ""
                                    model strength seed 4 7.5 "ddim" 1))))

; Facts of every layer the call returned (top first) and their PNGs.
(define (dlg-result-facts test dir img r)
  (dlg-fact test "status" (dlg-status r))
  (dlg-fact test "layers-after" (dlg-layers img))
  (when (eq? (car r) 'ok)
    (let ((layers (vector->list (caddr (cdr r))))      ; (layer n layers n seeds)
          (seeds (vector->list (list-ref (cdr r) 4))))
      (dlg-fact test "top" (car (cdr r)))
      (dlg-fact test "count" (cadr (cdr r)))
      (dlg-fact test "ids" layers)
      (dlg-fact test "seeds" seeds)
      (let loop ((ls layers) (i 0))
        (when (pair? ls)
          (let ((l (car ls))
                (p (string-append test "-" (number->string i) "-")))
            (dlg-fact test (string-append p "name") (car (gimp-item-get-name l)))
            (dlg-fact test (string-append p "size")
                      (list (car (gimp-drawable-width l)) (car (gimp-drawable-height l))))
            (dlg-fact test (string-append p "offsets") (gimp-drawable-offsets l))
            (dlg-fact test (string-append p "pos") (car (gimp-image-get-item-position img l)))
            (dlg-fact test (string-append p "parasite") (dlg-parasite l))
            (file-png-save-defaults RUN-NONINTERACTIVE img l
                                    (string-append dir "/" p "out.png")
                                    (string-append dir "/" p "out.png")))
          (loop (cdr ls) (+ i 1)))))))

; g1: two images, seeds 1234 and 1235, 64x48 (the image's size).
(define (dlg-g1 dir model)
  (let* ((img (dlg-load (string-append dir "/up-in.png"))))
    (dlg-fact "g1" "layers-before" (dlg-layers img))
    (dlg-result-facts "g1" dir img (dlg-txt2img img model 0 0 1234 4 7.5 "euler" 2 0 ""))))

; g2: the same seed twice gives the same pixels; model defaults resolved;
;     an explicit size that is not a multiple of 8 is rounded (37x21 -> 40x24).
(define (dlg-g2 dir model)
  (let* ((img (dlg-load (string-append dir "/up-in.png"))))
    (dlg-result-facts "g2a" dir img (dlg-txt2img img model 37 21 99 0 -1 "default" 1 0 ""))
    (dlg-result-facts "g2b" dir img (dlg-txt2img img model 37 21 99 0 -1 "default" 1 0 ""))))

; g3: Reimagine the whole layer; g4: only the selection bounds 30x20+10+6
;     of a layer moved to 8,4.
(define (dlg-g3 dir model)
  (let* ((img (dlg-load (string-append dir "/up-in.png")))
         (drw (car (gimp-image-get-active-layer img))))
    (dlg-fact "g3" "layers-before" (dlg-layers img))
    (dlg-result-facts "g3" dir img (dlg-img2img img drw model 0.6 5))
    (dlg-fact "g3" "src-pos" (car (gimp-image-get-item-position img drw)))
    (file-png-save-defaults RUN-NONINTERACTIVE img drw (string-append dir "/g3-src.png")
                            (string-append dir "/g3-src.png"))))

(define (dlg-g4 dir model)
  (let* ((img (dlg-load (string-append dir "/up-in.png")))
         (drw (car (gimp-image-get-active-layer img))))
    (gimp-layer-set-offsets drw 8 4)
    (gimp-image-select-rectangle img CHANNEL-OP-REPLACE 18 10 30 20)
    (dlg-result-facts "g4" dir img (dlg-img2img img drw model 0.5 6))
    (dlg-fact "g4" "src-pos" (car (gimp-image-get-item-position img drw)))))

; g5 (run with DREAM_TEST_CANCEL_AT): cancelled -> nothing added, clean.
(define (dlg-g5 dir model)
  (let* ((img (dlg-load (string-append dir "/up-in.png"))))
    (dlg-fact "g5" "layers-before" (dlg-layers img))
    (dlg-result-facts "g5" dir img (dlg-txt2img img model 0 0 1 4 7.5 "euler" 2 0 ""))
    (dlg-fact "g5" "dirty" (car (gimp-image-is-dirty img)))))

; g6: a corrupt model file and a missing one -> clear errors, unchanged.
(define (dlg-g6 dir)
  (let* ((img (dlg-load (string-append dir "/up-in.png")))
         (drw (car (gimp-image-get-active-layer img))))
    (dlg-fact "g6" "layers-before" (dlg-layers img))
    (dlg-result-facts "g6" dir img
                      (dlg-txt2img img (string-append dir "/corrupt.safetensors")
                                   0 0 1 4 7.5 "euler" 1 0 ""))
    (dlg-result-facts "g6b" dir img (dlg-img2img img drw "no-such-model" 0.5 1))
    (dlg-fact "g6" "dirty" (car (gimp-image-is-dirty img)))))

; g7: an indexed image -> clear error.
(define (dlg-g7 dir model)
  (let* ((img (dlg-load (string-append dir "/up-indexed.png"))))
    (dlg-fact "g7" "layers-before" (dlg-layers img))
    (dlg-result-facts "g7" dir img (dlg-txt2img img model 0 0 1 4 7.5 "euler" 1 0 ""))))

; g8: Rank by CLIP, three images.
(define (dlg-g8 dir model clip)
  (let* ((img (dlg-load (string-append dir "/up-in.png"))))
    (dlg-fact "g8" "layers-before" (dlg-layers img))
    (dlg-result-facts "g8" dir img (dlg-txt2img img model 32 32 70 3 7.5 "euler-a" 3 1 clip))))
