import { useRef, useState, type FormEvent } from "react";
import { accessToken, ApiError, get, query, type Page } from "../api";
import { ErrorBox, Progress, formatDate, useLoad } from "../components/common";

interface DocumentInfo {
  id: string;
  title: string | null;
  original_filename: string;
  media_type: string;
  size_bytes: number;
  created_at: string;
}

/** Upload with progress (XMLHttpRequest reports bytes sent; fetch cannot). */
export function uploadWithProgress(
  url: string,
  form: FormData,
  onProgress: (fraction: number) => void,
): Promise<unknown> {
  return new Promise((resolve, reject) => {
    const xhr = new XMLHttpRequest();
    xhr.open("POST", url);
    const token = accessToken();
    if (token) xhr.setRequestHeader("Authorization", `Bearer ${token}`);
    xhr.setRequestHeader("Accept", "application/json");
    xhr.upload.onprogress = (event) => {
      if (event.lengthComputable) onProgress(event.loaded / event.total);
    };
    xhr.onload = () => {
      let body: Record<string, unknown> = {};
      try {
        body = JSON.parse(xhr.responseText || "{}");
      } catch {
        /* keep empty */
      }
      if (xhr.status >= 200 && xhr.status < 300) resolve(body);
      else {
        const retry = xhr.getResponseHeader("Retry-After");
        reject(new ApiError({ ...body, status: xhr.status }, retry ? Number(retry) : null));
      }
    };
    xhr.onerror = () => reject(new ApiError({ status: 0 }, null));
    xhr.send(form);
  });
}

function size(bytes: number): string {
  if (bytes < 1024) return `${bytes} B`;
  if (bytes < 1024 * 1024) return `${(bytes / 1024).toFixed(1)} KB`;
  return `${(bytes / 1024 / 1024).toFixed(1)} MB`;
}

export function IncidentDocuments({ ownerType, ownerId }: { ownerType: string; ownerId: string }) {
  const { data, error, reload } = useLoad(
    () => get<Page<DocumentInfo>>(`/api/v1/records/documents${query({ owner_type: ownerType, owner_id: ownerId })}`),
    [ownerType, ownerId],
  );
  const fileInput = useRef<HTMLInputElement>(null);
  const [title, setTitle] = useState("");
  const [progress, setProgress] = useState<number | null>(null);
  const [uploadError, setUploadError] = useState<unknown>(null);

  const upload = async (event: FormEvent) => {
    event.preventDefault();
    const file = fileInput.current?.files?.[0];
    if (!file) return;
    const form = new FormData();
    form.append("file", file);
    setUploadError(null);
    setProgress(0);
    try {
      await uploadWithProgress(
        `/api/v1/records/documents${query({ owner_type: ownerType, owner_id: ownerId, title })}`,
        form,
        setProgress,
      );
      setTitle("");
      if (fileInput.current) fileInput.current.value = "";
      reload();
    } catch (err) {
      setUploadError(err);
    } finally {
      setProgress(null);
    }
  };

  return (
    <div className="card">
      <h2>Documents</h2>
      <ErrorBox error={error} />
      {data && data.items.length === 0 && <p className="muted">No documents attached.</p>}
      <ul className="plain">
        {data?.items.map((doc) => (
          <li key={doc.id}>
            <a href={`/api/v1/records/documents/${doc.id}/content`} onClick={(e) => download(e, doc)}>
              {doc.title || doc.original_filename}
            </a>{" "}
            <span className="muted small">
              {doc.media_type} · {size(doc.size_bytes)} · {formatDate(doc.created_at)}
            </span>
          </li>
        ))}
      </ul>
      <form className="row wrap" onSubmit={upload}>
        <input name="title" placeholder="Title (optional)" value={title} onChange={(e) => setTitle(e.target.value)} />
        <input name="file" type="file" ref={fileInput} required aria-label="File to attach" />
        <button type="submit" disabled={progress !== null}>Attach</button>
      </form>
      {progress !== null && <Progress fraction={progress} label="Uploading" />}
      <ErrorBox error={uploadError} />
    </div>
  );
}

// Downloads need the bearer token, so fetch the file and hand the browser a blob.
async function download(event: React.MouseEvent, doc: DocumentInfo) {
  event.preventDefault();
  const response = await fetch(`/api/v1/records/documents/${doc.id}/content`, {
    headers: { Authorization: `Bearer ${accessToken()}` },
  });
  if (!response.ok) {
    alert("The document could not be downloaded. You may not have access to it any more.");
    return;
  }
  const url = URL.createObjectURL(await response.blob());
  const link = document.createElement("a");
  link.href = url;
  link.download = doc.original_filename;
  link.click();
  URL.revokeObjectURL(url);
}
