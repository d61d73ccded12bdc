import { Args, Command, Flags } from '@oclif/core';
import { NiftiError, convertDatatype, reorient, resolveDatatype } from '@mednext-ts/io-nifti';
import { readNifti, writeNifti } from '@mednext-ts/io-nifti/node';

/** `mednext nifti convert IN OUT`: rewrite a NIfTI file, optionally changing datatype and orientation. */
export default class NiftiConvert extends Command {
  static override summary = 'Convert a NIfTI file: format, datatype, orientation.';

  static override description =
    'Convert a NIfTI file (.nii, .nii.gz, .hdr/.img; NIfTI-1/2; any byte order) to .nii or .nii.gz, optionally ' +
    'storing another datatype (integer targets round to nearest and fail outside the range) and reorienting ' +
    'by axis permutation/flips only (no resampling). The output is written atomically.';

  static override examples = [
    '<%= config.bin %> nifti convert in.hdr out.nii.gz',
    '<%= config.bin %> nifti convert t1.nii.gz t1_ras.nii.gz --reorient RAS',
    '<%= config.bin %> nifti convert prob.nii.gz prob16.nii.gz --datatype int16',
  ];

  static override args = {
    input: Args.string({ description: 'input NIfTI file', required: true }),
    output: Args.string({ description: 'output file, .nii or .nii.gz', required: true }),
  };

  static override flags = {
    datatype: Flags.string({
      description: 'datatype to store: uint8, int8, int16, uint16, int32, uint32, float32, float64, int64, uint64',
    }),
    reorient: Flags.string({ description: 'target orientation, e.g. RAS or LPS' }),
  };

  async run(): Promise<void> {
    const { args, flags } = await this.parse(NiftiConvert);
    try {
      if (flags.datatype) resolveDatatype(flags.datatype); // fail before reading a large file
      let image = await readNifti(args.input);
      const from = image.orientation;
      if (flags.reorient) image = reorient(image, flags.reorient);
      let rounded = 0;
      if (flags.datatype) ({ image, rounded } = convertDatatype(image, flags.datatype, args.input));
      await writeNifti(args.output, image);
      const notes = [
        flags.reorient ? `orientation ${from} -> ${image.orientation}` : `orientation ${from}`,
        rounded ? `${rounded} voxel(s) rounded to integers` : '',
      ].filter(Boolean);
      this.log(`wrote ${args.output}: ${image.shape.join('x')} ${image.datatype.name}, ${notes.join(', ')}`);
    } catch (error) {
      if (error instanceof NiftiError) this.error(`${error.message} [${error.code}]`, { exit: 1 });
      throw error;
    }
  }
}
