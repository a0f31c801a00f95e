// Only the two prompts kdebuginfo uses: a dynamic import of the whole @inquirer/prompts package
// pulls iconv-lite and chardet (~540 KiB) into the single-file build (bench/startup).
export { select, confirm } from '@inquirer/prompts';
