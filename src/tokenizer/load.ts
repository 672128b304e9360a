// Opens a GGUF file just for its tokenizer (works on vocab-only files, which have no tensors).
import { GgufFile } from '../gguf/reader.ts';
import { createTokenizer, type Tokenizer } from './tokenizer.ts';

export async function loadTokenizer(path: string): Promise<{ tokenizer: Tokenizer; metadata: GgufFile['metadata'] }> {
  const file = await GgufFile.open(path);
  try {
    return { tokenizer: createTokenizer(file.metadata), metadata: file.metadata };
  } finally {
    await file.close();
  }
}
