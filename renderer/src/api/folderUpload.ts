/**
 * The files of a save_to_disk folder the user dropped or picked in a browser, with their paths
 * inside the folder, for the upload as one tar (@shared/folderTar).
 */
import type { FolderFile } from '@shared/folderTar'

/** The files of a folder chosen with <input webkitdirectory>: their paths below the chosen folder, and its name. */
export function pickedFolder(files: readonly File[]): { name: string; files: FolderFile[] } | null {
  const first = files[0]?.webkitRelativePath
  if (!first || !first.includes('/')) return null
  const name = first.slice(0, first.indexOf('/'))
  return { name, files: files.map((file) => ({ path: file.webkitRelativePath.slice(name.length + 1), file })) }
}

/** Every file under a dropped folder's entry, read through the File System API (readEntries answers in batches). */
export async function droppedFolder(entry: FileSystemDirectoryEntry): Promise<FolderFile[]> {
  const found: FolderFile[] = []
  const walk = async (directory: FileSystemDirectoryEntry, prefix: string): Promise<void> => {
    const reader = directory.createReader()
    for (;;) {
      const batch = await new Promise<FileSystemEntry[]>((resolve, reject) => reader.readEntries(resolve, reject))
      if (batch.length === 0) return
      for (const child of batch) {
        if (child.isDirectory) await walk(child as FileSystemDirectoryEntry, `${prefix}${child.name}/`)
        else if (child.isFile)
          found.push({
            path: `${prefix}${child.name}`,
            file: await new Promise<File>((resolve, reject) => (child as FileSystemFileEntry).file(resolve, reject)),
          })
      }
    }
  }
  await walk(entry, '')
  return found
}
