"""What explains the selected clip: Grad-CAM of a torch model when one is set, else occlusion
saliency under the fold model that judged the clip. Jobs run in a worker thread; trainer (and
torch) are imported inside them, never when the app starts."""

from __future__ import annotations

from engine.audio.io import load_audio


def saliency_job(key: str, path, *, torch_model=None, torch_labels=(), result=None,
                 result_index: int | None = None, max_s: float = 600.0):
    """A function returning (key, saliency [n_mels, frames], mel centres Hz, hop s, caption), or None."""
    if torch_model is not None:
        labels = list(torch_labels)

        def gradcam():
            from trainer.api import gradcam_clip as gradcam_for_clip

            samples = load_audio(path, torch_model.frontend.sample_rate_hz, max_s=max_s).samples
            out = gradcam_for_clip(torch_model, samples)
            name = labels[out.target] if out.target < len(labels) else str(out.target)
            caption = f"Grad-CAM for {name} ({out.probs[out.target]:.0%})"
            return key, out.saliency, out.mel_centres_hz, out.hop_s, caption

        return gradcam
    if result is None or not result.fold_models or result_index is None:
        return None

    def occlusion():
        from trainer.api import explain_clip

        sal, mel_centres_hz, hop_s = explain_clip(result, result_index)
        return key, sal, mel_centres_hz, hop_s, "occlusion saliency of the fold model that judged it"

    return occlusion
