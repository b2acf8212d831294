import { ApiError, type ApiErrorBody } from './api.ts';

/**
 * POSTs a FormData with XMLHttpRequest, which (unlike fetch) reports upload progress: `onProgress` gets a
 * fraction from 0 to 1. Resolves with the JSON answer; rejects with an `ApiError` like `request()`.
 */
export function upload<T>(
  url: string,
  form: FormData,
  onProgress: (fraction: number) => void,
  signal?: AbortSignal,
): Promise<T> {
  return new Promise((resolve, reject) => {
    const xhr = new XMLHttpRequest();
    xhr.open('POST', url);
    xhr.withCredentials = true;
    xhr.setRequestHeader('accept', 'application/json');
    xhr.upload.onprogress = (event) => {
      if (event.lengthComputable) onProgress(event.loaded / event.total);
    };
    xhr.onload = () => {
      let data: unknown;
      try {
        data = xhr.responseText ? JSON.parse(xhr.responseText) : undefined;
      } catch {
        data = undefined;
      }
      if (xhr.status >= 200 && xhr.status < 300) {
        onProgress(1);
        resolve(data as T);
        return;
      }
      const error = (data as ApiErrorBody | undefined)?.error;
      reject(
        error
          ? new ApiError(xhr.status, error.code, error.message, error.fields)
          : new ApiError(xhr.status, `http_${xhr.status}`, `The upload failed (HTTP ${xhr.status}).`),
      );
    };
    xhr.onerror = () => reject(new ApiError(0, 'network_error', 'Could not reach the Filo server.'));
    xhr.onabort = () => reject(new DOMException('Upload aborted', 'AbortError'));
    signal?.addEventListener('abort', () => xhr.abort(), { once: true });
    xhr.send(form);
  });
}
