import { useEffect, useState, useSyncExternalStore } from 'react';
import type { Attachment, FileLinks } from '../../../client/src/index.js';
import type { ChatModel } from '../model/chat-model.js';
import { formatSize } from '../model/file-shelf.js';
import { Icon } from './icons.js';
import { Modal } from './modal.js';

/** Images the server previews (and serves inline); anything else is a file card. */
const SHOWN = /^image\/(png|jpeg|gif|webp|avif)$/;
/** The longest side of an image preview in a message, in CSS pixels. */
const PREVIEW_SIZE = 320;

/** The files of a composer on their way: name, size, a progress bar, a preview, remove. */
export function UploadTray({ model, slot }: { model: ChatModel; slot: string }) {
  const { uploads } = useSyncExternalStore(model.files.subscribe, model.files.snapshot);
  const mine = uploads.filter((upload) => upload.slot === slot);
  if (mine.length === 0) return null;
  return (
    <ul className="upload-tray" aria-label="Files to send">
      {mine.map((upload) => {
        const state = upload.error ? 'failed' : upload.file ? 'ready' : 'uploading';
        return (
          <li key={upload.key} className={`upload ${state}`}>
            {upload.preview ? <img src={upload.preview} alt="" className="upload-preview" /> : <span className="file-icon"><Icon name="file" size={26} /></span>}
            <span className="upload-text">
              <span className="upload-name">{upload.name}</span>
              <span className="upload-size">{formatSize(upload.size)}</span>
              {state === 'uploading' && (
                <progress max={upload.size || 1} value={upload.sent} aria-label={`Uploading ${upload.name}`} />
              )}
              {state === 'ready' && <span className="upload-done">Ready to send</span>}
              {upload.error && (
                <span className="field-error" role="alert">
                  {upload.error}
                </span>
              )}
            </span>
            <button type="button" className="icon-button" aria-label={`Remove ${upload.name}`} onClick={() => model.files.remove(upload.key)}>
              ×
            </button>
          </li>
        );
      })}
    </ul>
  );
}

/** The files a message carries: image previews (opening a lightbox) and file cards with their size. */
export function MessageFiles({ model, files }: { model: ChatModel; files: readonly Attachment[] }) {
  const { links } = useSyncExternalStore(model.files.subscribe, model.files.snapshot);
  const [open, setOpen] = useState<Attachment | null>(null);
  const ids = files.map((file) => file.id).join(',');
  useEffect(() => model.files.want(ids.split(',')), [model, ids]);
  return (
    <div className="message-files">
      {files.map((file) => {
        const link = links.get(file.id);
        if (SHOWN.test(file.type) && file.width !== null && file.height !== null) {
          const scale = Math.min(1, PREVIEW_SIZE / Math.max(file.width, file.height));
          const width = Math.max(1, Math.round(file.width * scale));
          const height = Math.max(1, Math.round(file.height * scale));
          const source = link ? (link.thumbnailUrl && file.thumbnail === 'ready' ? link.thumbnailUrl : link.url) : null;
          return (
            <button
              key={file.id}
              type="button"
              className="image-preview"
              style={{ width, height }}
              aria-label={`Open image ${file.name}, ${formatSize(file.size)}`}
              onClick={() => setOpen(file)}
            >
              {source ? <img src={source} alt={file.name} width={width} height={height} loading="lazy" /> : <span className="image-placeholder" />}
            </button>
          );
        }
        return <FileCard key={file.id} file={file} link={link} />;
      })}
      {open && <Lightbox file={open} link={links.get(open.id)} onClose={() => setOpen(null)} />}
    </div>
  );
}

function FileCard({ file, link }: { file: Attachment; link: FileLinks | undefined }) {
  const body = (
    <>
      <span className="file-icon">
        <Icon name="file" size={26} />
      </span>
      <span className="file-text">
        <span className="file-name">{file.name}</span>
        <span className="file-size">{formatSize(file.size)}</span>
      </span>
    </>
  );
  return link ? (
    <a className="file-card" href={link.url} download={file.name} aria-label={`Download ${file.name}, ${formatSize(file.size)}`}>
      {body}
    </a>
  ) : (
    <span className="file-card unavailable">{body}</span>
  );
}

/** The whole image over the page, with its name, size and a download link; Escape closes. */
function Lightbox({ file, link, onClose }: { file: Attachment; link: FileLinks | undefined; onClose: () => void }) {
  return (
    <Modal title={file.name} onClose={onClose} className="lightbox">
      {link ? <img src={link.url} alt={file.name} className="lightbox-image" /> : <p>Loading…</p>}
      <p className="lightbox-meta">
        {file.width}×{file.height}, {formatSize(file.size)}
        {link && (
          <>
            {' · '}
            <a href={link.url} download={file.name}>
              Download
            </a>
          </>
        )}
      </p>
    </Modal>
  );
}
