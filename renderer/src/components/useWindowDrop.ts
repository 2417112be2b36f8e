/**
 * Files dropped anywhere on the window go to the dataset library (and the
 * library page opens to show their progress). A drop on a text field is left
 * to the field (the form's path inputs take a dropped file's path), and one a
 * page handled itself to that page (the Adapters page's zip drop zone). In a
 * browser a dropped save_to_disk folder is uploaded as one tar.
 */
import { useEffect, useState } from 'react'
import { getShell } from '../api/client'
import { droppedFolder } from '../api/folderUpload'
import { useDatasetsStore } from '../stores/datasets'
import { useNavigationStore } from '../stores/navigation'

function carriesFiles(event: DragEvent): boolean {
  return event.dataTransfer !== null && [...event.dataTransfer.types].includes('Files')
}

/** The folders among the dropped items (a browser gives a folder as a File it cannot read). */
function droppedFolders(transfer: DataTransfer): FileSystemDirectoryEntry[] {
  return [...transfer.items]
    .map((item) => item.webkitGetAsEntry?.() ?? null)
    .filter((entry): entry is FileSystemDirectoryEntry => entry !== null && entry.isDirectory)
}

function onTextField(event: DragEvent): boolean {
  return event.target instanceof HTMLInputElement || event.target instanceof HTMLTextAreaElement
}

/** Wires the window's drag and drop; true while files are dragged over it. */
export function useWindowDrop(): boolean {
  const [dragging, setDragging] = useState(false)
  useEffect(() => {
    let depth = 0
    const enter = (event: DragEvent): void => {
      if (!carriesFiles(event)) return
      depth += 1
      setDragging(true)
    }
    const leave = (): void => {
      depth = Math.max(0, depth - 1)
      if (depth === 0) setDragging(false)
    }
    const over = (event: DragEvent): void => {
      if (carriesFiles(event)) event.preventDefault()
    }
    const drop = (event: DragEvent): void => {
      depth = 0
      setDragging(false)
      // A drop a page took itself (the Adapters page's zip drop zone) is not a dataset.
      if (!carriesFiles(event) || onTextField(event) || event.defaultPrevented) return
      event.preventDefault()
      const files = [...(event.dataTransfer?.files ?? [])]
      if (files.length === 0) return
      useNavigationStore.getState().open({ name: 'datasets' })
      // In a browser a dropped folder is read through its entry (now: the drop's data goes with the event) and uploaded as one tar.
      const folders = getShell() ? [] : droppedFolders(event.dataTransfer as DataTransfer)
      const plain = files.filter((file) => !folders.some((folder) => folder.name === file.name))
      void (async () => {
        const store = useDatasetsStore.getState()
        await store.importFiles(plain)
        for (const folder of folders) await store.importFolder(folder.name, await droppedFolder(folder))
      })()
    }
    window.addEventListener('dragenter', enter)
    window.addEventListener('dragleave', leave)
    window.addEventListener('dragover', over)
    window.addEventListener('drop', drop)
    return () => {
      window.removeEventListener('dragenter', enter)
      window.removeEventListener('dragleave', leave)
      window.removeEventListener('dragover', over)
      window.removeEventListener('drop', drop)
    }
  }, [])
  return dragging
}
