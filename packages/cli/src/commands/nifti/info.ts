import { Args, Command, Flags } from '@oclif/core';
import { NiftiError, summarizeNifti, type NiftiSummary } from '@mednext-ts/io-nifti';
import { readNifti } from '@mednext-ts/io-nifti/node';

/** `mednext nifti info FILE...`: header summary and value statistics of NIfTI files. */
export default class NiftiInfo extends Command {
  static override summary = 'Print header, geometry and value statistics of NIfTI files.';

  static override description =
    'Show the header (dims, datatype, pixdim, affine, orientation, codes, scaling) and value statistics of NIfTI files. ' +
    'sha256 is the hash of the scaled values as float64 little-endian in on-disk order (x fastest).';

  static override examples = [
    '<%= config.bin %> nifti info BraTS-GLI-00000-000-t1c.nii.gz',
    '<%= config.bin %> nifti info a.nii b.nii.gz --json',
  ];

  static override strict = false;

  static override args = {
    file: Args.string({ description: 'NIfTI file(s): .nii, .nii.gz, or .hdr/.img', required: true }),
  };

  static override flags = {
    json: Flags.boolean({ description: 'print JSON: one object for one file, an array for several' }),
  };

  async run(): Promise<void> {
    const { argv, flags } = await this.parse(NiftiInfo);
    const files = argv as string[];
    const results: ({ file: string } & (NiftiSummary | { error: { code: string; message: string } }))[] = [];
    let failed = 0;
    for (const file of files) {
      try {
        const summary = await summarizeNifti(await readNifti(file));
        results.push({ file, ...summary });
        if (!flags.json) this.log(formatSummary(file, summary));
      } catch (error) {
        if (!(error instanceof NiftiError)) throw error;
        failed++;
        results.push({ file, error: { code: error.code, message: error.message } });
        if (!flags.json) this.logToStderr(`error: ${error.message} [${error.code}]`);
      }
    }
    if (flags.json) this.log(JSON.stringify(results.length === 1 ? results[0] : results, jsonNumbers, 2));
    if (failed > 0) this.exit(1);
  }
}

/** JSON has no NaN/Infinity: write them as strings, the convention of the fixtures' expected.json. */
function jsonNumbers(_key: string, value: unknown): unknown {
  if (typeof value === 'number' && !Number.isFinite(value))
    return Number.isNaN(value) ? 'nan' : value > 0 ? 'inf' : '-inf';
  return value;
}

function fmt(x: number): string {
  return Number.isInteger(x) ? String(x) : x.toPrecision(8).replace(/\.?0+$/, '');
}

function formatSummary(file: string, s: NiftiSummary): string {
  const lines = [
    file,
    `  format       ${s.format === 'nifti1' ? 'NIfTI-1' : 'NIfTI-2'}, ${s.endianness}-endian${s.extensions ? `, ${s.extensions} extension(s)` : ''}`,
    `  dims         ${s.dims.join(' x ')}`,
    `  datatype     ${s.datatype}`,
    `  pixdim       ${s.pixdim.map(fmt).join(' x ')} (qfac ${s.qfac}, xyzt_units ${s.xyztUnits})`,
    `  scaling      slope ${fmt(s.sclSlope)}, inter ${fmt(s.sclInter)}${s.scaled ? '' : ' (not applied)'}`,
    `  codes        qform ${s.qformCode}, sform ${s.sformCode}`,
    `  orientation  ${s.orientation}`,
    `  affine       ${s.affine.map((row) => row.map((x) => fmt(x).padStart(11)).join(' ')).join('\n               ')}`,
    `  values       min ${fmt(s.min)}, max ${fmt(s.max)}, mean ${fmt(s.mean)}, sum ${fmt(s.sum)}`,
    `               ${s.count} voxels, ${s.nonZero} non-zero${s.nan ? `, ${s.nan} NaN` : ''}${s.infinite ? `, ${s.infinite} infinite` : ''}`,
    `  sha256       ${s.sha256}`,
  ];
  if (s.descrip) lines.splice(2, 0, `  descrip      ${s.descrip}`);
  return lines.join('\n');
}
