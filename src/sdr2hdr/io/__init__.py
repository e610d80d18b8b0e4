"""Images and video on disk: EXR, Radiance, PNG, SDR video decoding and the HDR10 HEVC writer."""

from sdr2hdr.io.images import (
                               IMAGE_EXTENSIONS,
                               SDR_IMAGE_EXTENSIONS,
                               Image,
                               read_exr,
                               read_image,
                               read_png,
                               read_radiance,
                               write_atomic,
                               write_exr,
                               write_png8,
                               write_png16,
)
from sdr2hdr.io.video import (
                               HDR10Writer,
                               MasteringDisplay,
                               VideoInfo,
                               VideoReader,
                               estimate_frames,
                               frame_to_rgb,
                               measure_light_level,
                               patch_content_light_level,
                               probe,
                               read_hdr10_metadata,
)

__all__ = ["IMAGE_EXTENSIONS", "SDR_IMAGE_EXTENSIONS", "Image", "read_exr", "read_image", "read_png",
           "read_radiance", "write_atomic", "write_exr", "write_png8", "write_png16", "HDR10Writer",
           "MasteringDisplay", "VideoInfo", "VideoReader", "estimate_frames", "frame_to_rgb",
           "measure_light_level", "patch_content_light_level", "probe", "read_hdr10_metadata"]
