/** Take a photo with the webcam: live preview, then one frame as a JPEG. */
import { useEffect, useRef, useState } from "react";
import { describeError } from "../api/errors";
import { Button } from "../components/Button";
import { ErrorNotice } from "../components/ErrorNotice";

/** Draw the video's current frame to a canvas and encode it as JPEG. */
export function captureFrame(video: HTMLVideoElement, quality = 0.92): Promise<Blob> {
  const canvas = document.createElement("canvas");
  canvas.width = video.videoWidth;
  canvas.height = video.videoHeight;
  const context = canvas.getContext("2d");
  if (!context || !canvas.width) return Promise.reject(new Error("камера ещё не передала изображение"));
  context.drawImage(video, 0, 0, canvas.width, canvas.height);
  return new Promise((resolve, reject) =>
    canvas.toBlob((blob) => (blob ? resolve(blob) : reject(new Error("не удалось сохранить снимок"))), "image/jpeg", quality),
  );
}

export function WebcamCapture({ onCapture, onClose }: { onCapture: (photo: File) => void; onClose: () => void }) {
  const videoRef = useRef<HTMLVideoElement>(null);
  const [stream, setStream] = useState<MediaStream | null>(null);
  const [failure, setFailure] = useState<string | null>(null);
  const [attempt, setAttempt] = useState(0);
  const supported = !!navigator.mediaDevices?.getUserMedia;
  const error = supported ? failure : "Этот браузер не даёт доступ к камере (нужен https или localhost).";

  useEffect(() => {
    let cancelled = false;
    let opened: MediaStream | null = null;
    if (!navigator.mediaDevices?.getUserMedia) return;
    navigator.mediaDevices
      .getUserMedia({ video: { facingMode: "user", width: { ideal: 1280 }, height: { ideal: 960 } }, audio: false })
      .then((media) => {
        if (cancelled) {
          media.getTracks().forEach((t) => t.stop());
          return;
        }
        opened = media;
        setStream(media);
      })
      .catch((err: unknown) => !cancelled && setFailure(describeError(err)));
    return () => {
      cancelled = true;
      opened?.getTracks().forEach((t) => t.stop());
    };
  }, [attempt]);

  useEffect(() => {
    const video = videoRef.current;
    if (video && stream) {
      video.srcObject = stream;
      void video.play().catch(() => undefined);
    }
  }, [stream]);

  const shoot = async () => {
    if (!videoRef.current) return;
    try {
      const blob = await captureFrame(videoRef.current);
      onCapture(new File([blob], "webcam.jpg", { type: "image/jpeg" }));
      onClose();
    } catch (err) {
      setFailure(describeError(err));
    }
  };

  return (
    <div className="flex flex-col gap-3">
      {error ? (
        <ErrorNotice
          message={error}
          onRetry={() => {
            setFailure(null);
            setAttempt((n) => n + 1);
          }}
        />
      ) : (
        <video ref={videoRef} muted playsInline autoPlay className="aspect-[4/3] w-full max-w-md -scale-x-100 rounded-xl bg-black object-cover" aria-label="Изображение с камеры" />
      )}
      <div className="flex gap-2">
        <Button variant="primary" onClick={shoot} disabled={!stream || !!error}>
          Сделать снимок
        </Button>
        <Button variant="ghost" onClick={onClose}>
          Закрыть камеру
        </Button>
      </div>
    </div>
  );
}
